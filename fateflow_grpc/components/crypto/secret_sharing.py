"""Two-party additive secret sharing over the ring Z_2^128, and the Paillier-assisted steps
that turn encrypted values into shares, as FATE's SSHE protocols (HeteroSSHELR,
HeteroSSHELinR) and HeteroPearson need them.

    kept, sent = split(encode(weights))          # sent goes to the other party
    weights = decode(reconstruct(kept, received))

    # Party K (owns a Paillier key) and party M (holds a plaintext integer matrix A):
    numbers = key.encrypt_many(values)                                # K: [[v]], sent to M
    masked, my_share = mask(matvec(A, numbers) + offset, divisor)    # M: sends `masked` to K
    your_share = unmask(private_key, masked, divisor)                 # K
    # my_share + your_share == floor((A v + offset) / divisor), or one more (mod 2^128)

Ring and encoding: a share is a Python int in [0, 2^128), held in numpy object arrays; a real
x is round(x * 2^f) modulo 2^128 (`encode`, f = `FRACTION_BITS` unless said), negatives as
2^128 - |.|. The ring is 128 bits wide, not 64, so that every probabilistic step below fails
with probability below 2^-60 for the magnitudes a learner meets (|value * 2^(2f)| < 2^68).

Exact integers from shares: a + b = x + 2^128 as integers for ring shares a, b of a small x,
unless a falls within |x| of the ring's edge (probability |x| / 2^128). So a party holding a
and [[b]] gets [[x]] as [[b]] + (a - 2^128) (`integer_sum`): the Paillier plaintext is then
the integer x itself, on which integer matrices and exact division work.

Division: `divide` divides a share by a public integer locally (SecureML's truncation, for any
divisor): the two results reconstruct to floor(x / d) or one more, with the same failure
probability. `mask` and `unmask` divide exactly instead, over the integers: M adds a mask rho,
uniform in [0, 2^mask_bits), to an encrypted integer v; K decrypts v + rho; floor((v + rho) /
d) - floor(rho / d) is floor(v / d) or one more, always. The mask hides v statistically:
its distance from uniform is |v| / 2^mask_bits (2^-64 for the `DEFAULT_MASK_BITS`-bit masks
and |v| < 2^192).

Randomness: every share and mask comes from `secrets` (the operating system's CSPRNG), never
from a seeded generator such as numpy's PCG64: a share must be unpredictable even to someone
who saw the other shares a party made. `secrets.token_bytes` gives 16 bytes per share at
hundreds of MB/s, far from being what a protocol waits for.

Products of shared values are Paillier-assisted (one party encrypts its share, the other
multiplies under encryption, `mask` turns the result back into shares), not Beaver triples:
FATE's SPDZ makes its triples with Paillier too, so triples would add rounds, not security.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

import gmpy2
import numpy as np
import numpy.typing as npt

from fateflow_grpc.components.crypto import paillier
from fateflow_grpc.components.crypto.exponentiation import FixedBase, on_every_core
from fateflow_grpc.errors import InvalidArgument

RING_BITS = 128
RING = 1 << RING_BITS
_HALF = RING >> 1
#: Fractional bits of the fixed-point encoding: resolution 6e-8. A multiple of 4, so that a
#: Paillier ciphertext of encode(x) is python-paillier's (and FATE's) encoding of x at
#: exponent -FRACTION_BITS / 4 in base 16 (`FATE_EXPONENT`).
FRACTION_BITS = 24
FATE_EXPONENT = -FRACTION_BITS // 4
#: Bits of a mask over the integers (`mask`): with values below 2^192, 64 bits of statistical
#: hiding; with 1024-bit keys, room below n / 3 for products of two masked values.
DEFAULT_MASK_BITS = 256
#: Integer matrices are multiplied under encryption in limbs of this many bits (plus a sign),
#: so that shares of 128 bits and more go through `paillier.matvec`'s int64 path.
_LIMB_BITS = 62

#: Ring elements (Python ints in [0, 2^128)), or integers of any size, in numpy object arrays.
Ints = npt.NDArray[np.object_]
Floats = npt.NDArray[np.float64]


# --- the ring -----------------------------------------------------------------------------------


def encode(values: npt.ArrayLike, fraction_bits: int = FRACTION_BITS) -> Ints:
    """round(x * 2^fraction_bits) modulo 2^128 for each x (ties to even)."""
    array = np.asarray(values, dtype=np.float64)
    if not np.isfinite(array).all():
        raise InvalidArgument("fixed-point encoding takes finite numbers, not nan or inf")
    # Scaling by a power of two is exact; rint rounds; int() of a float is exact.
    scaled = np.rint(np.ldexp(array, fraction_bits))
    if np.abs(scaled).max(initial=0.0) >= _HALF:
        raise InvalidArgument("a value is too large for the 128-bit fixed-point ring")
    return _object_array([int(v) % RING for v in scaled.ravel().tolist()], array.shape)


def decode(values: Ints, fraction_bits: int = FRACTION_BITS) -> Floats:
    """The reals of ring elements (those from 2^127 on are negative)."""
    # int / int is correctly rounded in Python, however large the operands.
    scale = 1 << fraction_bits
    flat = [v / scale for v in signed(values).ravel().tolist()]
    return np.array(flat, dtype=np.float64).reshape(np.shape(values))


def signed(values: Ints) -> Ints:
    """Ring elements as integers in [-2^127, 2^127)."""
    array = np.asarray(values, dtype=object)
    return _object_array([v - RING if v >= _HALF else v for v in array.ravel()], array.shape)


def fixed(values: npt.ArrayLike, fraction_bits: int = FRACTION_BITS) -> npt.NDArray[np.int64]:
    """round(x * 2^fraction_bits) as int64, for plaintext matrices (features) that multiply
    encrypted values; refuses values whose encoding would not fit 62 bits."""
    array = np.asarray(values, dtype=np.float64)
    if not np.isfinite(array).all():
        raise InvalidArgument("fixed-point encoding takes finite numbers, not nan or inf")
    scaled = np.rint(np.ldexp(array, fraction_bits))
    if np.abs(scaled).max(initial=0.0) >= 2.0**62:
        largest = float(np.abs(array).max())
        raise InvalidArgument(
            f"a value of magnitude {largest:g} is too large for {fraction_bits}-bit fixed point "
            f"(at most {2.0 ** (62 - fraction_bits):g}); scale the features first"
        )
    return scaled.astype(np.int64)


def random_ring(shape: int | tuple[int, ...]) -> Ints:
    """Uniform ring elements from the operating system's CSPRNG."""
    count = int(np.prod(shape))
    words = np.frombuffer(secrets.token_bytes(16 * count), dtype="<u8").reshape(count, 2)
    low = words[:, 0].astype(object)
    high = words[:, 1].astype(object)
    values: Ints = (low + (high << 64)).reshape(shape)
    return values


def split(values: Ints) -> tuple[Ints, Ints]:
    """Shares of `values`: (kept, sent), kept + sent = values (mod 2^128), sent uniform."""
    sent = random_ring(np.shape(values))
    return (np.asarray(values, dtype=object) - sent) % RING, sent


def reconstruct(*shares: Ints) -> Ints:
    total = np.asarray(shares[0], dtype=object)
    for share in shares[1:]:
        total = total + np.asarray(share, dtype=object)
    return total % RING


def divide(share: Ints, divisor: int, party: int) -> Ints:
    """A share of x / divisor from a share of x, computed locally (party 0 and party 1 apply
    the two halves of SecureML's rule): the results reconstruct to floor(x / divisor) or one
    more, except with probability about |x| / 2^128."""
    if divisor < 1:
        raise InvalidArgument(f"a divisor is a positive integer, not {divisor}")
    array = np.asarray(share, dtype=object)
    if party == 0:
        return array // divisor
    # (-x1 mod 2^128) rather than 2^128 - x1: a share of 0 stays 0 (a zero-initialised state).
    return (-((-array % RING) // divisor)) % RING


def integer_sum(mine: Ints, theirs: Sequence[paillier.EncryptedNumber]) -> list[Any]:
    """[[x]] for each x whose ring shares are `mine` and the encrypted `theirs`: the integer
    x itself (not x modulo 2^128), except with probability about |x| / 2^128 each."""
    values = np.asarray(mine, dtype=object).ravel()
    if len(values) != len(theirs):
        raise InvalidArgument(f"{len(values)} shares and {len(theirs)} encrypted shares")
    return [number + (int(v) - RING) for v, number in zip(values, theirs, strict=True)]


# --- the wire -----------------------------------------------------------------------------------


def to_wire(values: Ints) -> npt.NDArray[np.uint64]:
    """Ring elements as a uint64 array of shape (..., 2): low word, high word."""
    array = np.asarray(values, dtype=object)
    low = (array & ((1 << 64) - 1)).astype(np.uint64)
    high = (array >> 64).astype(np.uint64)
    return np.ascontiguousarray(np.stack([low, high], axis=-1))


def from_wire(obj: object, shape: tuple[int, ...]) -> Ints:
    """The ring elements `to_wire` made, of the given shape; ValueError for anything else."""
    if not isinstance(obj, np.ndarray) or obj.dtype != np.uint64 or obj.shape != (*shape, 2):
        raise ValueError(f"expected shares as uint64 words of shape {(*shape, 2)}")
    low = obj[..., 0].astype(object)
    high = obj[..., 1].astype(object)
    return np.asarray(low + (high << 64), dtype=object)


def encrypted_to_wire(numbers: Sequence[paillier.EncryptedNumber]) -> list[int]:
    """Ciphertexts of integers for `codec.BigIntegers`; results of operations are
    re-randomised, so that the key's owner cannot relate them to ciphertexts it made."""
    return paillier.to_ints(numbers, rerandomize=True)


def encrypted_from_wire(
    key: paillier.PublicKey, obj: object, count: int | None = None
) -> list[paillier.EncryptedNumber]:
    """Encrypted integers (exponent 0) from the wire; ValueError for anything else."""
    if not isinstance(obj, list) or not all(isinstance(v, int) for v in obj):
        raise ValueError("expected encrypted numbers as a list of integers")
    try:
        numbers = paillier.from_ints(key, obj)
    except InvalidArgument as error:
        raise ValueError(f"not Paillier ciphertexts: {error.message}") from None
    if count is not None and len(numbers) != count:
        raise ValueError(f"expected {count} encrypted numbers, not {len(numbers)}")
    if any(number.exponent != 0 for number in numbers):
        raise ValueError("expected encrypted integers (exponent 0)")
    return numbers


# --- Paillier-assisted steps --------------------------------------------------------------------


def encrypt(key: paillier.PublicKey, values: npt.ArrayLike) -> list[paillier.EncryptedNumber]:
    """[[v]] for integers of any sign and size below the key's n / 3 (shares, fixed points)."""
    return key.encrypt_many([int(v) for v in np.asarray(values, dtype=object).ravel()])


def matvec(
    matrix: npt.ArrayLike, numbers: Sequence[paillier.EncryptedNumber]
) -> list[paillier.EncryptedNumber]:
    """matrix @ [[v]] exactly, for an integer matrix of any sign and size (int64, or Python
    ints such as ring shares): wide entries are split into limbs of `_LIMB_BITS` bits, each
    limb multiplied by `paillier.matvec`'s multi-exponentiation, and the products recombined."""
    array = np.asarray(matrix)
    if array.ndim != 2:
        raise InvalidArgument(f"matvec takes a matrix, not an array of shape {array.shape}")
    if array.dtype.kind in "iu" and array.dtype.itemsize <= 8 and array.dtype != np.uint64:
        small = array.astype(np.int64, copy=False)
        if len(small) >= _FIXED_BASE_ROWS and numbers:
            return _tall_matvec(small, numbers)
        return paillier.matvec(small, numbers)
    entries = np.asarray(array, dtype=object)
    widest = max((abs(int(v)).bit_length() for v in entries.ravel()), default=0)
    limbs = max(1, -(-widest // _LIMB_BITS))
    if limbs == 1:
        return paillier.matvec(entries.astype(np.int64), numbers)
    signs = np.where(entries < 0, -1, 1)
    magnitude = np.abs(entries)
    total: list[paillier.EncryptedNumber] | None = None
    for index in range(limbs):
        shift = index * _LIMB_BITS
        limb = (signs * ((magnitude >> shift) & ((1 << _LIMB_BITS) - 1))).astype(np.int64)
        part = paillier.matvec(limb, numbers)
        if shift:
            part = [number * (1 << shift) for number in part]
        total = part if total is None else [a + b for a, b in zip(total, part, strict=True)]
    assert total is not None
    return total


#: From this many rows on, a matrix of small integers times [[v]] tables each [[v_j]]'s powers
#: (`exponentiation.FixedBase`): a table costs 255 multiplications per byte of the exponents,
#: and then each entry costs one multiplication per byte instead of one squaring per bit.
_FIXED_BASE_ROWS = 96


def _tall_matvec(
    matrix: npt.NDArray[np.int64], numbers: Sequence[paillier.EncryptedNumber]
) -> list[paillier.EncryptedNumber]:
    """matrix @ [[v]] for many rows and few columns (X [[w]]): the entries, shifted by 2^b to be
    non-negative, are powers of tabled bases, and [[sum v]]^(-2^b) takes the shift back out."""
    if matrix.shape[1] != len(numbers):
        raise InvalidArgument(
            f"matvec multiplies a (k, {len(numbers)}) matrix by {len(numbers)} encrypted "
            f"numbers, not a matrix of shape {matrix.shape}"
        )
    key = numbers[0].public_key
    if any(n.exponent != 0 or (n.public_key is not key and n.public_key != key) for n in numbers):
        raise InvalidArgument("matvec takes integers encrypted under one key (exponent 0)")
    modulus = gmpy2.mpz(key.nsquare)
    bits = int(np.abs(matrix).max(initial=0)).bit_length() + 1
    offset = 1 << (bits - 1)
    tables = [FixedBase(n.ciphertext, key.nsquare, bits) for n in numbers]
    total = gmpy2.mpz(1)
    for number in numbers:
        total = total * number.ciphertext % modulus
    correction = gmpy2.powmod(total, -offset, modulus)
    shifted = (matrix + offset).tolist()

    def rows(chunk: Sequence[list[int]]) -> list[paillier.EncryptedNumber]:
        results = []
        for row in chunk:
            product = correction
            for table, power in zip(tables, row, strict=True):
                product = product * table.power(power) % modulus
            results.append(paillier.EncryptedNumber(key, int(product), 0))
        return results

    return on_every_core(rows, shifted, smallest=16)


def mask(
    numbers: Sequence[paillier.EncryptedNumber],
    divisor: int = 1,
    *,
    mask_bits: int = DEFAULT_MASK_BITS,
) -> tuple[list[int], Ints]:
    """M's step: [[v + rho]] for the other party to decrypt (re-randomised, for the wire), and
    M's share of floor(v / divisor), -floor(rho / divisor) mod 2^128."""
    if divisor < 1:
        raise InvalidArgument(f"a divisor is a positive integer, not {divisor}")
    wire, masks = mask_integers(numbers, mask_bits=mask_bits)
    return wire, _object_array([(-(rho // divisor)) % RING for rho in masks], (len(masks),))


def mask_integers(
    numbers: Sequence[paillier.EncryptedNumber], *, mask_bits: int = DEFAULT_MASK_BITS
) -> tuple[list[int], list[int]]:
    """[[v + rho]] for the other party to decrypt (re-randomised, for the wire), and the masks
    rho: integer shares of v are then -rho here and v + rho there."""
    if numbers and mask_bits + 2 > numbers[0].public_key.n.bit_length():
        raise InvalidArgument(f"{mask_bits}-bit masks need a longer Paillier key")
    masks = [secrets.randbits(mask_bits) for _ in numbers]
    masked = [number + rho for number, rho in zip(numbers, masks, strict=True)]
    return encrypted_to_wire(masked), masks


def unmask(
    private_key: paillier.PrivateKey, masked: Sequence[paillier.EncryptedNumber], divisor: int = 1
) -> Ints:
    """K's step: its share of floor(v / divisor), floor((v + rho) / divisor) mod 2^128."""
    values = private_key.decrypt_many(masked)
    return _object_array([(int(u) // divisor) % RING for u in values], (len(values),))


def masked_values(
    private_key: paillier.PrivateKey, masked: Sequence[paillier.EncryptedNumber]
) -> list[int]:
    """K's step when it wants the masked integers themselves (v + rho), not a ring share."""
    return [int(u) for u in private_key.decrypt_many(masked)]


def _object_array(values: list[Any], shape: tuple[int, ...]) -> Ints:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array.reshape(shape)
