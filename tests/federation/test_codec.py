"""The federation wire format: every kind round-trips, and nothing that could run code gets in."""

from __future__ import annotations

import pickle
from collections.abc import Iterator

import numpy as np
import pytest

from fateflow.proxy.v1 import proxy_service_pb2 as pb
from fateflow_grpc.errors import InvalidArgument
from fateflow_grpc.federation.codec import BigIntegers, Encoded, decode, encode


def round_trip(obj: object, chunk_size: int = 7) -> object:
    encoded = encode(obj, chunk_size)
    chunks = list(encoded.chunks())
    assert all(len(chunk) <= chunk_size for chunk in chunks)
    assert sum(map(len, chunks)) == encoded.size
    return decode(encoded.kind, encoded.dtype, encoded.shape, encoded.size, iter(chunks))


@pytest.mark.parametrize(
    "array",
    [
        np.arange(10, dtype=np.int64),
        np.linspace(0, 1, 6).reshape(2, 3).astype(">f4"),
        np.array([True, False]),
        np.array([1 + 1j], dtype=np.complex128),
        np.array(2.5),
        np.zeros((0, 3), dtype=np.uint16),
        np.arange(12).reshape(3, 4).T,  # not contiguous
    ],
    ids=["int64", "big-endian", "bool", "complex", "0-d", "empty", "transposed"],
)
def test_arrays_round_trip(array: np.ndarray) -> None:
    back = round_trip(array)
    assert isinstance(back, np.ndarray)
    assert back.dtype == array.dtype and back.shape == array.shape
    assert np.array_equal(back, array)


def test_big_integers_are_compact_and_round_trip() -> None:
    values = BigIntegers([0, 1, 255, 256, 2**4096 - 1])
    assert round_trip(values) == values
    encoded = encode(values)
    assert encoded.kind == pb.PAYLOAD_KIND_BIG_INTEGERS
    assert encoded.size == 5 * 4 + (0 + 1 + 1 + 2 + 512)  # lengths, then big-endian bytes


def test_json_and_bytes_round_trip() -> None:
    value = {"a": [1, 2.5, None, True], "b": {"c": "d"}}
    assert round_trip(value) == value
    assert round_trip(b"raw\x00") == b"raw\x00"
    assert encode((1, 2)).kind == pb.PAYLOAD_KIND_JSON


@pytest.mark.parametrize(
    "obj",
    [
        np.array([object()], dtype=object),
        np.zeros(2, dtype=[("a", "i4")]),
        np.array(["text"]),
        object(),
        {1, 2},
        BigIntegers([-1]),
    ],
    ids=["object-array", "structured", "strings", "object", "set", "negative"],
)
def test_what_cannot_cross_is_refused_when_sent(obj: object) -> None:
    with pytest.raises(InvalidArgument):
        encode(obj).chunks().__next__()  # a negative integer is found while encoding


def test_a_pickle_stays_bytes() -> None:
    payload = pickle.dumps({"any": "object"})
    assert round_trip(payload) == payload


@pytest.mark.parametrize(
    ("kind", "dtype", "shape", "payload"),
    [
        (pb.PAYLOAD_KIND_NDARRAY, "|O8", [1], b"\x00" * 8),
        (pb.PAYLOAD_KIND_NDARRAY, "<V8", [1], b"\x00" * 8),
        (pb.PAYLOAD_KIND_NDARRAY, "<f8", [2], b"\x00" * 8),  # shape says 16 bytes
        (pb.PAYLOAD_KIND_NDARRAY, "<f8", [-1], b""),
        (pb.PAYLOAD_KIND_JSON, "", [], pickle.dumps([1])),
        (pb.PAYLOAD_KIND_BIG_INTEGERS, "", [], b"\x00\x00\x00\x05\x01"),
        (pb.PAYLOAD_KIND_UNSPECIFIED, "", [], b""),
        (99, "", [], b""),
    ],
    ids=[
        "object-dtype",
        "void-dtype",
        "short",
        "negative-shape",
        "pickle-as-json",
        "truncated",
        "unspecified",
        "unknown",
    ],
)
def test_payloads_that_are_not_valid_are_refused_when_read(
    kind: int, dtype: str, shape: list[int], payload: bytes
) -> None:
    with pytest.raises(InvalidArgument):
        decode(kind, dtype, shape, len(payload), iter([payload]))


def test_chunks_can_be_generated_again_for_a_retry() -> None:
    encoded: Encoded = encode(np.arange(100), 64)
    first: Iterator[bytes] = encoded.chunks()
    assert list(first) == list(encoded.chunks())
