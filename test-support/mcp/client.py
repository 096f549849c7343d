"""An MCP client built on the official Python SDK (PyPI `mcp`), calling tools on a server
protected by one of our adapters, with tokens from the OpenID provider (client_credentials):

1. with a token for `allowed_scope`, list the tools and call `allowed_tool`: it runs;
2. call `denied_tool`: the server answers 403 insufficient_scope; the `scope` the challenge
   names is read from the response the SDK's HTTP client received;
3. obtain a token for exactly that scope and call `denied_tool` again: it runs.

Prints one JSON line with what happened; exits non-zero on any failure.

usage: python3 client.py <mcp url> <token endpoint> <client id> <client secret> <resource>
                         <allowed scope> <allowed tool> <denied tool>
"""

import asyncio
import base64
import json
import re
import sys
import urllib.parse
import urllib.request
from datetime import timedelta

import httpx
from mcp import ClientSession
from mcp.client.streamable_http import streamablehttp_client

URL, TOKEN_ENDPOINT, CLIENT_ID, SECRET, RESOURCE, ALLOWED_SCOPE, ALLOWED, DENIED = sys.argv[1:9]
OUT = {}
REFUSALS = []


def token(scope):
    body = urllib.parse.urlencode(
        {"grant_type": "client_credentials", "scope": scope, "resource": RESOURCE}
    ).encode()
    basic = base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
    req = urllib.request.Request(
        TOKEN_ENDPOINT,
        data=body,
        headers={
            "authorization": f"Basic {basic}",
            "content-type": "application/x-www-form-urlencoded",
        },
    )
    with urllib.request.urlopen(req, timeout=10) as res:
        return json.load(res)["access_token"]


async def record(response):
    if response.status_code in (401, 403):
        REFUSALS.append(
            (response.status_code, response.headers.get("www-authenticate", ""))
        )


def client_factory(headers=None, timeout=None, auth=None):
    return httpx.AsyncClient(
        headers=headers,
        timeout=timeout,
        auth=auth,
        follow_redirects=True,
        event_hooks={"response": [record]},
    )


def text(result):
    return "".join(getattr(c, "text", "") for c in result.content)


async def session_calls(access_token, calls):
    """Connects with `access_token` and runs `calls(session)`."""
    headers = {"Authorization": f"Bearer {access_token}"}
    async with streamablehttp_client(
        URL, headers=headers, httpx_client_factory=client_factory
    ) as (read, write, _):
        async with ClientSession(read, write) as session:
            await session.initialize()
            return await calls(session)


async def main():
    async def first(session):
        OUT["listed"] = [t.name for t in (await session.list_tools()).tools]
        OUT["allowed"] = text(await session.call_tool(ALLOWED, {}))
        try:
            result = await session.call_tool(
                DENIED, {}, read_timeout_seconds=timedelta(seconds=10)
            )
            OUT["denied"] = "ran: " + text(result)
        except Exception as e:  # the SDK surfaces the HTTP error as an exception
            OUT["denied"] = f"{type(e).__name__}: {e}"

    try:
        await session_calls(token(ALLOWED_SCOPE), first)
    except BaseException as e:  # an exception group when the transport's task fails
        OUT.setdefault("denied", f"{type(e).__name__}: {e}")
    if REFUSALS:
        status, challenge = REFUSALS[-1]
        OUT["status"] = status
        OUT["challenge"] = challenge
        found = re.search(r'scope="([^"]*)"', challenge)
        OUT["scope"] = found.group(1) if found else None
    if OUT.get("scope"):

        async def second(session):
            return text(await session.call_tool(DENIED, {}))

        OUT["afterStepUp"] = await session_calls(token(OUT["scope"]), second)
    print(json.dumps(OUT))


try:
    asyncio.run(main())
except BaseException as e:
    OUT["failure"] = f"{type(e).__name__}: {e}"
    print(json.dumps(OUT))
    sys.exit(1)
