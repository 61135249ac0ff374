"""Tests of the request edge: request ids, headers, logging, CORS and rate limiting."""
