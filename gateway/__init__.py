"""The HTTP shim: FATE-Flow 1.x's `/v1/...` JSON API in front of the gRPC core.

It has no business logic and names no endpoint: the routes come from the `google.api.http`
rules of the descriptors the core serves through gRPC reflection (`routes`), requests and
responses are transcoded with `json_format` and wrapped in FATE's envelope (`transcoding`),
and `app` serves them with aiohttp.

    app = await gateway.app.create_app("127.0.0.1:9360")    # an aiohttp Application
    await gateway.server.serve("127.0.0.1:9360", "127.0.0.1", 9380)
    python -m gateway --core 127.0.0.1:9360 --host 127.0.0.1 --port 9380
"""
