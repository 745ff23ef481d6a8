"""``GET .well-known/jwks.json``: the public signing keys, for verifiers of our tokens."""

from __future__ import annotations

from django.utils.cache import patch_cache_control
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ...keys import get_key_ring


class JWKSView(APIView):
    """``GET``: the public signing keys (RFC 7517 JWK set); 404 with HMAC keys."""

    authentication_classes = []
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        keys = get_key_ring().public_jwks()
        if not keys:
            raise exceptions.NotFound(_("Tokens are signed with a shared secret: no public keys."))
        response = Response({"keys": keys})
        if request._request.COOKIES:  # its session may be re-issued on this very response
            patch_cache_control(response, private=True, max_age=300)
        else:
            patch_cache_control(response, public=True, max_age=300)
        return response
