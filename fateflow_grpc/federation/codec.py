"""The federation wire format: typed payloads, none of which can carry code.

    encoded = encode(obj)                    # kind, dtype, shape, size, digest, chunks
    obj = decode(kind, dtype, shape, size, chunks)

| Python object                      | kind         | bytes                                       |
|------------------------------------|--------------|---------------------------------------------|
| numpy array of bool, int, uint,    | NDARRAY      | the C-ordered array data; dtype (numpy's    |
| float or complex                   |              | `dtype.str`, byte order included) and shape |
|                                    |              | in the header                               |
| `BigIntegers` (non-negative ints,  | BIG_INTEGERS | per integer: 4-byte big-endian length, then |
| such as Paillier ciphertexts)      |              | the integer big-endian in that many bytes   |
| bytes, bytearray, memoryview       | BYTES        | the bytes, handed back as `bytes`           |
| anything `json.dumps` takes        | JSON         | UTF-8 JSON (tuples come back as lists)      |

There is no pickle, and nothing else that constructs arbitrary objects: an array's dtype must
be one of the plain numeric kinds (object, structured and string dtypes are refused at both
ends), a payload of an unknown kind is refused, and BYTES stay bytes whatever they hold.
Encoding is lazy: `chunks()` yields slices of the object (an array, even a memory-mapped file,
is never copied whole), and can be called again for a retry.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from fateflow.proxy.v1 import proxy_service_pb2 as pb
from fateflow_grpc.errors import InvalidArgument

#: Bytes of one chunk on the wire.
CHUNK_SIZE = 256 * 1024
#: numpy dtype kinds that may cross: bool, signed and unsigned ints, floats, complex.
ARRAY_KINDS = frozenset("biufc")
_DTYPE = re.compile(r"[<>|=][biufc][0-9]{1,2}")
_LENGTH_BYTES = 4


class BigIntegers(list[int]):
    """A list of non-negative integers of any size, sent compactly (not as JSON text)."""


@dataclass(frozen=True)
class Encoded:
    kind: pb.PayloadKind
    size: int
    digest: bytes
    chunks: Callable[[], Iterator[bytes]]
    dtype: str = ""
    shape: tuple[int, ...] = ()


def encode(obj: object, chunk_size: int = CHUNK_SIZE) -> Encoded:
    if isinstance(obj, np.ndarray):
        return _encode_array(obj, chunk_size)
    if isinstance(obj, bytes | bytearray | memoryview):
        data = memoryview(obj).cast("B")
        return _encoded(pb.PAYLOAD_KIND_BYTES, lambda: _slices(data, chunk_size))
    if isinstance(obj, BigIntegers):
        return _encoded(pb.PAYLOAD_KIND_BIG_INTEGERS, lambda: _big_integers(obj, chunk_size))
    try:
        text = json.dumps(obj, separators=(",", ":")).encode()
    except (TypeError, ValueError) as error:
        raise InvalidArgument(
            f"cannot send a {type(obj).__name__}: federation objects are numpy arrays, bytes, "
            f"BigIntegers or JSON values ({error})"
        ) from None
    return _encoded(pb.PAYLOAD_KIND_JSON, lambda: _slices(memoryview(text), chunk_size))


def _encoded(
    kind: pb.PayloadKind,
    chunks: Callable[[], Iterator[bytes]],
    dtype: str = "",
    shape: tuple[int, ...] = (),
) -> Encoded:
    """Measure the payload in one pass over its chunks; they are generated again to be sent."""
    digest = hashlib.sha256()
    size = 0
    for chunk in chunks():
        digest.update(chunk)
        size += len(chunk)
    return Encoded(kind, size, digest.digest(), chunks, dtype, shape)


def _encode_array(array: np.ndarray[Any, Any], chunk_size: int) -> Encoded:
    _check_dtype(array.dtype)
    # No copy when the array is contiguous already (np.ascontiguousarray would make 0-d 1-d).
    contiguous = array if array.flags.c_contiguous else array.copy(order="C")
    data = contiguous.reshape(-1).view(np.uint8)
    return _encoded(
        pb.PAYLOAD_KIND_NDARRAY,
        lambda: _slices(memoryview(data.data), chunk_size),
        contiguous.dtype.str,
        tuple(int(n) for n in contiguous.shape),
    )


def _check_dtype(dtype: np.dtype[Any]) -> None:
    if dtype.kind not in ARRAY_KINDS or dtype.hasobject or dtype.fields is not None:
        raise InvalidArgument(
            f"arrays of dtype {dtype} do not cross parties: only bool, int, uint, float and "
            "complex arrays do",
            dtype=str(dtype),
        )


def _slices(data: memoryview, chunk_size: int) -> Iterator[bytes]:
    for start in range(0, len(data), chunk_size):
        yield bytes(data[start : start + chunk_size])


def _big_integers(values: Iterable[int], chunk_size: int) -> Iterator[bytes]:
    buffer = bytearray()
    for value in values:
        if not isinstance(value, int) or value < 0:
            raise InvalidArgument("BigIntegers holds non-negative integers only")
        length = (value.bit_length() + 7) // 8
        buffer += length.to_bytes(_LENGTH_BYTES, "big")
        buffer += value.to_bytes(length, "big")
        while len(buffer) >= chunk_size:  # chunks of chunk_size, whatever the integers' sizes
            yield bytes(buffer[:chunk_size])
            del buffer[:chunk_size]
    if buffer:
        yield bytes(buffer)


# --- decoding ---------------------------------------------------------------------------------


def decode(
    kind: int, dtype: str, shape: Iterable[int], size: int, chunks: Iterable[bytes]
) -> object:
    """The object a payload holds; InvalidArgument if the payload is not a valid one."""
    if kind == pb.PAYLOAD_KIND_NDARRAY:
        return _decode_array(dtype, list(shape), size, chunks)
    if kind == pb.PAYLOAD_KIND_BIG_INTEGERS:
        return _decode_big_integers(chunks)
    if kind == pb.PAYLOAD_KIND_BYTES:
        return b"".join(chunks)
    if kind == pb.PAYLOAD_KIND_JSON:
        try:
            return json.loads(b"".join(chunks).decode())
        except (UnicodeDecodeError, ValueError) as error:
            raise InvalidArgument(f"a JSON payload is not valid JSON: {error}") from None
    raise InvalidArgument(f"payload kind {kind} is not one this node reads", kind=kind)


def _decode_array(dtype_text: str, shape: list[int], size: int, chunks: Iterable[bytes]) -> object:
    if not _DTYPE.fullmatch(dtype_text):
        raise InvalidArgument(f"array dtype {dtype_text!r} is refused", dtype=dtype_text)
    dtype = np.dtype(dtype_text)
    _check_dtype(dtype)
    if any(n < 0 for n in shape) or math.prod(shape) * dtype.itemsize != size:
        raise InvalidArgument(f"an array of shape {shape} and dtype {dtype} is not {size} bytes")
    array = np.empty(math.prod(shape), dtype)
    target = array.view(np.uint8).data
    offset = 0
    for chunk in chunks:
        if offset + len(chunk) > size:
            raise InvalidArgument(f"an array payload is larger than its {size} bytes")
        target[offset : offset + len(chunk)] = chunk
        offset += len(chunk)
    if offset != size:
        raise InvalidArgument(f"an array payload has {offset} bytes, not {size}")
    return array.reshape(shape)


def _decode_big_integers(chunks: Iterable[bytes]) -> BigIntegers:
    values = BigIntegers()
    buffer = bytearray()
    position = 0
    for chunk in chunks:
        buffer += chunk
        while len(buffer) - position >= _LENGTH_BYTES:
            length = int.from_bytes(buffer[position : position + _LENGTH_BYTES], "big")
            end = position + _LENGTH_BYTES + length
            if end > len(buffer):
                break
            values.append(int.from_bytes(buffer[position + _LENGTH_BYTES : end], "big"))
            position = end
        del buffer[:position]
        position = 0
    if buffer:
        raise InvalidArgument("a BIG_INTEGERS payload ends inside an integer")
    return values
