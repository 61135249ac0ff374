"""The envelopes every JSON answer comes in, and what the API says about itself."""

from __future__ import annotations

from typing import Generic, Literal, TypeVar

from app.schemas.common import ResponseModel

DataT = TypeVar("DataT")


class ApiInfo(ResponseModel):
    """What this API is."""

    name: str
    version: str
    openapi: str


class SuccessEnvelope(ResponseModel, Generic[DataT]):
    """``{success: true, message, data}``."""

    success: Literal[True]
    message: str
    data: DataT


class PageInfo(ResponseModel):
    """Where a page of a list starts, its size and how many items there are in all."""

    skip: int
    limit: int
    total: int


class ListEnvelope(ResponseModel, Generic[DataT]):
    """``{success: true, message, data: [...], pagination}``."""

    success: Literal[True]
    message: str
    data: list[DataT]
    pagination: PageInfo


class ErrorDetail(ResponseModel):
    """One offending field and what is wrong with it."""

    field: str
    message: str


class ErrorEnvelope(ResponseModel):
    """``{success: false, message, status_code, details, request_id}``."""

    success: Literal[False]
    message: str
    status_code: int
    details: list[ErrorDetail] | None
    request_id: str
