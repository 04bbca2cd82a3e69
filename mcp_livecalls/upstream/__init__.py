"""The one HTTP policy every provider request goes through.

An adapter asks its ``ProviderHTTP`` for JSON; the request travels down this pipeline and comes
back as the adapter's parsed value or as an error of ``mcp_livecalls.errors``::

    adapter: http.get_json(path, parse=…) / http.post_json(path, body, parse=…)
      │
      ▼  client.ProviderHTTP                    the pipeline, one per provider
      ├─ retries ............................... policy: HttpPolicy, RetryBudget, backoff_for
      │    └─ one attempt, inside translate_errors
      │         ├─ pacer.acquire() ............. pacing: RequestPacer | fleet's SharedPacer,
      │         │                                background_requests() yield to tool calls
      │         ├─ request slot ................ max_concurrency, background_share of it
      │         ├─ deadline .................... request_timeout_s
      │         ├─ send, read ≤ max bytes ...... httpx2 on the shared client
      │         ├─ pacer.observe(headers) ...... X-RateLimit-Remaining / -Reset
      │         └─ read the answer ............. translate: AnswerReader (status, body),
      │                                          envelope_error, parse
      ▼
    parsed value  |  LiveCallsError:
        ├─ AuthError            401, 403
        ├─ CallNotFound         404 with a call id (or an envelope's 404)
        ├─ RateLimited          429 (Retry-After read by policy.retry_after)
        ├─ ProviderUnavailable  5xx, 404 of a list endpoint
        │    └─ Retryable       502, 503, 504, timeouts, connection errors: retried
        ├─ BadResponse          other 4xx, empty / HTML / non-JSON body, data parse could not read
        └─ InvalidArgument      a request that could not be built

Every message names the provider by its title and quotes its own words only redacted
(``redact``: ``Redactor``, and ``LOG_FILTER`` for every log record). Import from the modules
(``policy``, ``pacing``, ``redact``, ``translate``, ``client``); this package re-exports nothing.
"""
