"""Outside-client check: the official Python `mcp` SDK lists and calls tools on both transports.

Usage: python3 tests/clients/python_sdk.py http://127.0.0.1:8082
Exits non-zero on any failure. Run by the integration suite when the `mcp` package is present.
"""
import asyncio
import json
import sys

from mcp import ClientSession
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client


async def exercise(session: ClientSession, transport: str) -> None:
    await session.initialize()
    tools = await session.list_tools()
    names = {t.name for t in tools.tools}
    assert {"whoami", "health_check"} <= names, names
    result = await session.call_tool("whoami", {})
    assert not result.is_error, result
    who = json.loads(result.content[0].text)
    assert who["transport"] == transport, who
    assert who["session"] == f"py-{transport}", who
    print(f"{transport}: ok ({len(names)} tools, whoami={who['session']})")


async def main(base: str) -> None:
    async with sse_client(f"{base}/sse?session=py-sse") as (read, write):
        async with ClientSession(read, write) as session:
            await exercise(session, "sse")
    async with streamable_http_client(f"{base}/mcp?session=py-streamable-http") as streams:
        read, write = streams[0], streams[1]
        async with ClientSession(read, write) as session:
            await exercise(session, "streamable-http")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8082"))
