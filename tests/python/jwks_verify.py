#!/usr/bin/env python3
"""Verifies CloudMind access tokens the way another service would: PyJWT (a library no one here wrote) with nothing
but the JWKS URL. Prints one JSON line per token: {"ok": true, "alg", "kid", "sub"} or {"ok": false, "error"}.

usage: jwks_verify.py BASE_URL ISSUER AUDIENCE TOKEN...
"""
import json
import sys

import jwt
from jwt import PyJWKClient

base, issuer, audience, *tokens = sys.argv[1:]
client = PyJWKClient(f"{base}/.well-known/jwks.json", cache_jwk_set=False)
for token in tokens:
    try:
        header = jwt.get_unverified_header(token)
        key = client.get_signing_key_from_jwt(token)
        claims = jwt.decode(token, key, algorithms=["ES256", "EdDSA"], audience=audience, issuer=issuer,
                            options={"require": ["exp", "iat", "iss", "aud", "sub"]})
        print(json.dumps({"ok": True, "alg": header["alg"], "kid": header["kid"], "sub": claims["sub"]}))
    except Exception as e:  # every refusal is a result, not a crash
        print(json.dumps({"ok": False, "error": f"{type(e).__name__}: {e}"}))
