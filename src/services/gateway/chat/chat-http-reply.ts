// The chat use case's ChatReply over Fastify: JSON through the reply, server-sent
// events through the raw response (hijacked on the first event). Disconnect is the
// response's 'close' before it finished — not the request's: since Node 16 an
// IncomingMessage emits 'close' as soon as its body was read.
import type { FastifyReply } from 'fastify';
import type { GatewayError } from '../errors.js';
import { sendGatewayError } from '../openai-error.filter.js';
import type { ChatReply } from './chat.service.js';

export class HttpChatReply implements ChatReply {
  private streaming = false;

  constructor(private readonly reply: FastifyReply) {}

  onClientGone(listener: () => void): () => void {
    const raw = this.reply.raw;
    const onClose = () => {
      if (!raw.writableFinished) listener();
    };
    raw.on('close', onClose);
    return () => raw.off('close', onClose);
  }

  json(headers: Record<string, string>, body: unknown): void {
    void this.reply.status(200).headers(headers).send(body);
  }

  event(headers: Record<string, string>, data: string): void {
    const raw = this.reply.raw;
    if (!this.streaming) {
      this.streaming = true;
      this.reply.hijack();
      // No Connection header of our own: Node keeps the socket alive or closes it after
      // the stream as the request asked (a client's `Connection: close` is honoured).
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        'x-accel-buffering': 'no', // nginx: do not buffer the stream
        ...headers,
      });
    }
    if (!raw.writableEnded && !raw.destroyed) raw.write(data);
  }

  end(): void {
    if (!this.reply.raw.writableEnded) this.reply.raw.end();
  }

  fail(error: GatewayError): void {
    sendGatewayError(this.reply, error);
  }

  abandon(): void {
    if (!this.reply.raw.writableEnded) this.reply.raw.destroy();
  }
}
