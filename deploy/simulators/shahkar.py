"""A stand-in for Shahkar, the mobile-ownership check: which national code owns which mobile.

    POST /match {"national_code", "mobile"} → 200 {"match": bool}

09121111111 belongs to 0023456787, so anyone else registering with it is not matched;
0078901235 makes Shahkar hang past the adapter's time-out.
"""

from __future__ import annotations

import asyncio
import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

SLOW = "0078901235"
SLOW_SECONDS = float(os.environ.get("SHAHKAR_SLOW_SECONDS", "10"))

OWNERS = {
    "09121234567": "0012345679",
    "09121111111": "0023456787",
    "09131234567": "0045678901",
    "09351234567": "0056789017",
    "09191234567": "0067890121",
    "09123334455": "0011223340",
    "09124445566": "0022334459",
}


async def match(request: Request) -> JSONResponse:
    body = await request.json()
    code, mobile = str(body.get("national_code", "")), str(body.get("mobile", ""))
    if code == SLOW:
        await asyncio.sleep(SLOW_SECONDS)
    return JSONResponse({"match": OWNERS.get(mobile) == code})


app = Starlette(routes=[Route("/match", match, methods=["POST"])])
