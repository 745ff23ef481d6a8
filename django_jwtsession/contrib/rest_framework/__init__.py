"""Django REST framework integration (see ``docs/rest-framework.md``).

- :mod:`.authentication`: ``JWTSessionAuthentication`` — the session cookie (the
  middleware's user, CSRF enforced) or ``Authorization: Bearer <session token>``;
- :mod:`.permissions`: ``HasRole``, ``HasSubscription``, ``HasFeature``;
- :mod:`.urls`: the session endpoints (log in and out, claims, refresh, my sessions)
  and the JWKS.
"""
