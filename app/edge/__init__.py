"""The request edge: what every request passes through before and after its view.

Request ids, timing and security headers (:mod:`.middleware`), the request's credentials
(:mod:`.identity`), rate limiting (:mod:`.ratelimit`, :mod:`.limiter_storage`), CORS
(:mod:`.cors`) and the access log (:mod:`.access_log`). The edge knows who is asking but
nothing of the domain: it imports no model and no service.
"""
