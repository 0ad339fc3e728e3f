# schemathesis hooks for tests/e2e/gateway/fuzz.test.ts (loaded through SCHEMATHESIS_HOOKS).
#
# A generated `model` is almost never a served one, so nearly every chat request would
# stop at 404 model_not_found before routing, admission or the engine ran. Three in four
# chat bodies get the served alias instead; everything else stays as generated (so a
# negative case stays invalid in whatever else it breaks). crc32, not hash(): string
# hashes are salted per process, and a run must be reproducible from its seed.
import zlib

import schemathesis


@schemathesis.hook
def map_body(context, body):
    operation = context.operation
    if operation is None or operation.path != "/v1/chat/completions":
        return body
    if isinstance(body, dict) and isinstance(body.get("model"), str) and zlib.crc32(body["model"].encode("utf-8", "surrogatepass")) % 4 != 0:
        body = {**body, "model": "outerloop"}
        # stream_options without stream: true is a 400 by design (as OpenAI's); keep it on the rest
        if body.get("stream") is not True:
            body.pop("stream_options", None)
    return body
