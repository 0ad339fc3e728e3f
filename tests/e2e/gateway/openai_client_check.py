# The official Python `openai` client, unmodified, against a running gateway
# (tests/e2e/gateway/python-client.test.ts starts it and passes its base URL).
# Each check raises on failure; the last line printed is a JSON summary.
import json
import sys

import openai

base_url = sys.argv[1]
client = openai.OpenAI(base_url=base_url, api_key="unused-in-open-mode", max_retries=0)
messages = [{"role": "user", "content": "How do I kill a Linux process?"}]
summary = {}

# models.list / models.retrieve
models = client.models.list()
ids = [m.id for m in models.data]
assert ids[0] == "outerloop", ids
assert client.models.retrieve("outerloop").id == "outerloop"
version = ids[1]
assert client.models.retrieve(version).id == version
try:
    client.models.retrieve("no-such-model")
    raise AssertionError("retrieve of an unknown model succeeded")
except openai.NotFoundError as e:
    assert e.code == "model_not_found", e.body
summary["models"] = ids

# chat, non-streaming
r = client.chat.completions.create(model="outerloop", messages=messages, max_tokens=16, seed=3)
assert r.object == "chat.completion"
assert isinstance(r.choices[0].message.content, str)
assert r.choices[0].finish_reason in ("stop", "length")
assert 0 < r.usage.completion_tokens <= 16
summary["text"] = r.choices[0].message.content

# a temperature far below float32's reciprocal range is greedy, not a 500 (issue 11)
greedy = client.chat.completions.create(model="outerloop", messages=messages, max_tokens=16, seed=3, temperature=0)
tiny = client.chat.completions.create(model="outerloop", messages=messages, max_tokens=16, seed=4, temperature=1e-39)
assert tiny.choices[0].message.content == greedy.choices[0].message.content, (tiny.choices[0].message.content, greedy.choices[0].message.content)

# streaming reassembles the non-streamed text of the same seed
stream = client.chat.completions.create(model="outerloop", messages=messages, max_tokens=16, seed=3, stream=True, stream_options={"include_usage": True})
text, finish, usage = "", None, None
for chunk in stream:
    for c in chunk.choices:
        text += c.delta.content or ""
        finish = c.finish_reason or finish
    usage = chunk.usage or usage
assert text == r.choices[0].message.content, (text, r.choices[0].message.content)
assert finish == r.choices[0].finish_reason
assert usage.completion_tokens == r.usage.completion_tokens

# errors: a bad parameter, an unknown model, and a prompt over the context while streaming —
# all raised by create() itself (an HTTP status), never inside the stream after a 200
try:
    client.chat.completions.create(model="outerloop", messages=messages, temperature=7)
    raise AssertionError("temperature=7 was accepted")
except openai.BadRequestError as e:
    assert e.param == "temperature" and e.type == "invalid_request_error", e.body
try:
    client.chat.completions.create(model="nope", messages=messages)
    raise AssertionError("an unknown model was accepted")
except openai.NotFoundError as e:
    assert e.code == "model_not_found", e.body
long_messages = [{"role": "user", "content": "kill the process " * 400}]
try:
    client.chat.completions.create(model="outerloop", messages=long_messages, stream=True)
    raise AssertionError("a prompt over the context was accepted with stream=True")
except openai.BadRequestError as e:
    assert e.code == "context_length_exceeded", e.body
    summary["context_error"] = e.code

print(json.dumps(summary))
