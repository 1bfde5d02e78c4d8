"""Paillier's additively homomorphic cryptosystem on gmpy2, as HeteroLR uses it.

    public_key, private_key = generate_keypair(1024)       # the arbiter keeps private_key
    encrypted = public_key.encrypt_many(residuals)         # the guest: [[d]]
    gradient = matvec(features.T, encrypted)               # the host: X^T @ [[d]]
    wire = to_ints(gradient)                               # BigIntegers(wire) crosses parties
    values = private_key.decrypt_many(from_ints(public_key, wire))

    ciphertexts = public_key.encrypt_ints(packed)          # SecureBoost: signed integers
    sums = sum_by_groups(public_key, ciphertexts, bins, size)   # a histogram per feature
    wire = to_rows(public_key, public_key.rerandomize(pack(public_key, sums, width)))
    slot_values = unpack(private_key.decrypt_ints(from_rows(public_key, wire))[0], width, count)

Keys: n = p * q with p, q random primes of key_length / 2 bits each, both 3 modulo 4 with
gcd(p - 1, q - 1) = 2 (Damgard-Jurik-Nielsen's admissible modulus), and g = n + 1, so g^m mod
n^2 is 1 + m * n and never a modular exponentiation.

Numbers: an encrypted number is a ciphertext with a base-16 exponent, python-paillier's
`EncodedNumber` scheme (which FATE 1.x's `FixedPointNumber` copies): a float x is the integer
round(x * 16^-e), with e chosen so all 53 bits of its mantissa survive; an int has e = 0. The
integer is stored modulo n, negatives as n - |m|, and must stay within n / 3 in magnitude.
Adding numbers of different exponents first lowers the larger one (a multiplication of its
plaintext by a power of 16), so mixed exponents add exactly; values encrypted with one
`precision` share its exponent and add without that. `encrypt` encodes as python-paillier
does, bit for bit, and either library decrypts the other's ciphertexts under the same key.
Multipliers are encoded with the fewest digits instead (see `_encode_scalar`).

Obfuscation: encrypting is (1 + m * n) * s mod n^2 for a fresh random n-th residue s, the
obfuscator, which is all the cost of encryption. Two ways to draw it, chosen by the key:

* classic (Paillier's): s = r^n for r uniform in [1, n): an exponentiation with a 1024-bit
  exponent modulo n^2 for a 1024-bit key. Secure under the decisional composite residuosity
  assumption (DCR).
* DJN (Damgard, Jurik and Nielsen's variant, the default of `generate_keypair`): the key also
  publishes hs = h^n mod n^2 for h = -x^2 mod n, and s = hs^a for a uniform exponent a of
  key_length / 2 bits. hs is a fixed base, so its powers are tabled (`FixedBase`) and an
  obfuscator costs 64 modular multiplications instead of an exponentiation: about 13 times
  less. Secure under DCR plus the assumption that such short powers of hs cannot be told from
  random n-th residues; docs/security.md states what that means and who else relies on it.

Decryption is the same for both (it raises the ciphertext to a multiple of n, which removes
any n-th residue), so a ciphertext of either kind decrypts under the private key, as do
python-paillier's.

The pool: obfuscators come from a pool that each public key fills ahead of time
(`PublicKey.precompute`, or in a background thread with `fill_in_background` while the party
waits for another one), and are computed on the spot when it runs dry, so encryption itself
is one modular multiplication. Each value is used exactly once (two ciphertexts sharing an
obfuscator reveal the difference of their plaintexts), which is why the pool is dropped when
the process forks and never copied or pickled. A pooled value is as secret as the plaintext it
will hide, and holds about 300 bytes of memory at 1024 bits.

Every core: lists of exponentiations (classic obfuscators, decryption) and the rows of a
`matvec` are spread over one thread per core (`exponentiation.on_every_core`); gmpy2 computes
without the GIL.

Results of homomorphic operations are not re-randomised (it would cost an obfuscator per
operation), and a result can reveal its operands' relation to someone who saw them: a party
that sent [[a]] and gets back [[a]] * k learns k. `to_ints` therefore re-randomises every
number that is not a fresh encryption before it goes on the wire, as python-paillier's
`ciphertext(be_secure=True)` does.
"""

from __future__ import annotations

import math
import os
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, cast

import gmpy2
import numpy as np

from fateflow_grpc.components.crypto.exponentiation import (
    FixedBase,
    Mpz,
    batch_invert,
    cores,
    multi_power,
    on_every_core,
)
from fateflow_grpc.errors import InvalidArgument

#: FATE's default `encrypt_param.key_length`.
DEFAULT_KEY_LENGTH = 1024
#: Smaller moduli are factorable by well-funded attackers (and 100-bit ones by anyone).
MIN_KEY_LENGTH = 1024
#: Key generation grows with the cube of the length; past this it is a typo, not a choice.
MAX_KEY_LENGTH = 8192

BASE = 16
LOG2_BASE = 4
FLOAT_MANTISSA_BITS = 53
#: The magnitude of exponents accepted from the wire. A float's natural exponent lies within
#: [-282, 243] and sums of products add two; lowering an exponent by d costs 4 * d modular
#: squarings, so a peer may not ask for an unbounded amount of work.
MAX_WIRE_EXPONENT = 4096
#: Fewer obfuscators than this per core are computed in the calling thread alone.
_OBFUSCATORS_PER_THREAD = 16

#: An int-like gmpy2 `mpz` at run time, typed as int; converted to int at the public boundary
#: (`to_ints`).
_Mpz = Mpz
#: A row of `matvec`'s matrix: its entries as integers, and their exponent.
_Row = tuple[list[int], int]

Number = int | float | np.integer[Any] | np.floating[Any]


def validate_key_length(key_length: object) -> int:
    """`key_length` if it is a usable modulus length in bits, else InvalidArgument."""
    if not isinstance(key_length, int) or isinstance(key_length, bool):
        raise InvalidArgument(
            f"a Paillier key_length is an integer number of bits, not {key_length!r}",
            key_length=key_length,
        )
    # Even, as n is the product of two primes of key_length / 2 bits; FATE's key generation
    # takes any even length (its example's 1204) and never ends on an odd one.
    if not MIN_KEY_LENGTH <= key_length <= MAX_KEY_LENGTH or key_length % 2:
        raise InvalidArgument(
            f"a Paillier key_length must be an even number of bits from "
            f"{MIN_KEY_LENGTH} to {MAX_KEY_LENGTH}, not {key_length}",
            key_length=key_length,
        )
    return key_length


def generate_keypair(
    key_length: int = DEFAULT_KEY_LENGTH, *, djn: bool = True
) -> tuple[PublicKey, PrivateKey]:
    """A fresh key pair whose modulus has exactly `key_length` bits; with `djn`, its public key
    carries the base of DJN obfuscators (see the module's docstring), else classic ones."""
    validate_key_length(key_length)
    half = key_length // 2
    while True:
        p = _random_prime(half)
        q = _random_prime(half)
        # DJN's admissible modulus: with p = q = 3 (mod 4) and gcd(p-1, q-1) = 2, the group
        # of Jacobi symbol 1 modulo n is cyclic and -x^2 generates it for almost every x.
        if p != q and math.gcd(p - 1, q - 1) == 2:
            break
    # Both primes have their two top bits set, so n has exactly key_length bits; and as they
    # have the same size neither divides the other minus one, so gcd(n, (p-1)(q-1)) = 1.
    n = p * q
    hs = None
    if djn:
        x = secrets.randbelow(n - 2) + 2  # a factor of n in common: probability 2^-500
        hs = int(gmpy2.powmod(-x * x % n, n, n * n))
    public_key = PublicKey(n, hs=hs)
    return public_key, PrivateKey(public_key, p, q)


def _random_prime(bits: int) -> int:
    """A prime of exactly `bits` bits, 3 modulo 4."""
    while True:
        candidate = secrets.randbits(bits) | (3 << (bits - 2)) | 3
        # GMP's next_prime runs Baillie-PSW plus Miller-Rabin rounds: no known composite passes.
        prime = int(gmpy2.next_prime(candidate))
        if prime.bit_length() == bits and prime % 4 == 3:
            return prime


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --- encoding ---------------------------------------------------------------------------------


def _as_number(value: object) -> int | float:
    if isinstance(value, int | float):
        return value
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    raise InvalidArgument(
        f"Paillier encodes ints and floats, not a {type(value).__name__}",
        type=type(value).__name__,
    )


def _natural_exponent(value: float) -> int:
    """python-paillier's exponent for a float: the one that keeps its 53 mantissa bits."""
    return (math.frexp(value)[1] - FLOAT_MANTISSA_BITS) // LOG2_BASE


def _precision_exponent(precision: float) -> int:
    if not (math.isfinite(precision) and precision > 0):
        raise InvalidArgument(
            f"an encoding precision is a positive number, not {precision!r}",
            precision=precision,
        )
    return math.floor(math.log(precision, BASE))


def _scaled(value: int | float, exponent: int) -> int:
    """round(value * 16^-exponent), ties to even as python-paillier's `round(Fraction)`, exactly."""
    numerator, denominator = value.as_integer_ratio()
    if exponent < 0:
        numerator <<= -exponent * LOG2_BASE
    else:
        denominator <<= exponent * LOG2_BASE
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient & 1):
        quotient += 1
    return quotient


def _encode(
    value: object, *, precision: float | None = None, max_exponent: int | None = None
) -> tuple[int, int]:
    """(mantissa, exponent) of a plaintext, python-paillier's `EncodedNumber.encode`."""
    number = _as_number(value)
    if isinstance(number, float) and not math.isfinite(number):
        raise InvalidArgument(f"Paillier cannot encode {number}", value=number)
    if precision is not None:
        exponent = _precision_exponent(precision)
    elif isinstance(number, int):
        exponent = 0
    else:
        exponent = _natural_exponent(number)
    if max_exponent is not None and max_exponent < exponent:
        exponent = max_exponent
    return _scaled(number, exponent), exponent


def _encode_scalar(value: object) -> tuple[int, int]:
    """A multiplier's encoding with the fewest bits: its cost is one squaring per bit.

    Floats drop trailing zero hex digits (0.25 is 4 * 16^-1, not 2^54 * 16^-14); ints keep
    exponent 0 so integer arithmetic keeps integer exponents.
    """
    mantissa, exponent = _encode(value)
    if mantissa and exponent < 0:
        zero_digits = min(_trailing_zero_bits(mantissa) // LOG2_BASE, -exponent)
        mantissa >>= zero_digits * LOG2_BASE
        exponent += zero_digits
    elif not mantissa:
        exponent = 0
    return mantissa, exponent


def _trailing_zero_bits(value: int) -> int:
    return (value & -value).bit_length() - 1


def _zigzag(value: int) -> int:
    return 2 * value if value >= 0 else -2 * value - 1


def _unzigzag(value: int) -> int:
    return value >> 1 if value % 2 == 0 else -((value + 1) >> 1)


# --- keys -------------------------------------------------------------------------------------


class PublicKey:
    """The modulus n (and, for DJN obfuscators, their base hs), with a pool of precomputed
    obfuscators. Keys with equal n are equal: their ciphertexts combine."""

    __slots__ = (
        "_background",
        "_hs",
        "_lock",
        "_n",
        "_nsquare",
        "_pool",
        "_pool_pid",
        "_table",
        "hs",
        "max_int",
        "n",
        "nsquare",
    )

    def __init__(self, n: int, hs: int | None = None) -> None:
        if not _is_int(n) or n <= 0 or n % 2 == 0:
            raise InvalidArgument("a Paillier modulus is a positive odd integer", n=n)
        validate_key_length(n.bit_length())
        if hs is not None and (not _is_int(hs) or not 1 < hs < n * n or math.gcd(hs, n) != 1):
            raise InvalidArgument("a DJN obfuscator base hs is a unit modulo n^2 other than 1")
        self.n = n
        self.nsquare = n * n
        #: DJN's h^n mod n^2, the base of obfuscators; None for classic ones.
        self.hs = hs
        #: Plaintexts up to max_int are positive, those from n - max_int on negative, and
        #: the gap between them catches overflows (python-paillier's choice of n / 3).
        self.max_int = n // 3 - 1
        self._n: _Mpz = gmpy2.mpz(n)
        self._nsquare: _Mpz = gmpy2.mpz(self.nsquare)
        self._hs: _Mpz | None = None if hs is None else gmpy2.mpz(hs)
        self._table: FixedBase | None = None
        self._pool: list[_Mpz] = []
        self._pool_pid = os.getpid()
        self._lock = threading.Lock()
        self._background: threading.Thread | None = None

    @property
    def g(self) -> int:
        return self.n + 1

    @property
    def key_length(self) -> int:
        return self.n.bit_length()

    @property
    def precomputed(self) -> int:
        """Obfuscators in the pool, ready for that many encryptions."""
        return len(self._pool) if self._pool_pid == os.getpid() else 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicKey) and other.n == self.n

    def __hash__(self) -> int:
        return hash(self.n)

    def __repr__(self) -> str:
        kind = "djn" if self.hs is not None else "classic"
        return f"PublicKey(key_length={self.key_length}, {kind}, n=0x{self.n:x}"[:64] + "...)"

    def __reduce__(self) -> tuple[type[PublicKey], tuple[int, int | None]]:
        # Copies and pickles carry n and hs only: a copied pool would hand out obfuscators twice.
        return PublicKey, (self.n, self.hs)

    def to_json(self) -> dict[str, int]:
        return {"n": self.n} if self.hs is None else {"n": self.n, "hs": self.hs}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> PublicKey:
        n = data.get("n") if isinstance(data, Mapping) else None
        hs = data.get("hs") if isinstance(data, Mapping) else None
        if not _is_int(n) or not (hs is None or _is_int(hs)):
            raise InvalidArgument("a Paillier public key is {'n': <int>[, 'hs': <int>]}", data=data)
        return cls(cast(int, n), cast(int | None, hs))

    # Obfuscators -------------------------------------------------------------------------------

    def precompute(self, count: int) -> None:
        """Compute `count` more obfuscators now."""
        self._check_pid()
        fresh = self._new_obfuscators(count)
        with self._lock:
            self._pool.extend(fresh)

    def fill_in_background(self, size: int) -> None:
        """Have at least `size` obfuscators in the pool soon: a thread computes the missing
        ones, typically while this party waits for another one and its core would be idle.
        Encryptions meanwhile take what is ready and compute the rest themselves."""
        self._check_pid()
        with self._lock:
            missing = size - len(self._pool)
            if missing <= 0 or (self._background is not None and self._background.is_alive()):
                return
            self._background = threading.Thread(
                target=self.precompute, args=(missing,), name="paillier-obfuscators", daemon=True
            )
            self._background.start()

    def _take_obfuscators(self, count: int) -> list[_Mpz]:
        self._check_pid()
        with self._lock:
            taken = self._pool[max(len(self._pool) - count, 0) :]
            del self._pool[len(self._pool) - len(taken) :]
        if len(taken) < count:
            taken.extend(self._new_obfuscators(count - len(taken)))
        return taken

    def _check_pid(self) -> None:
        # A forked child has its parent's pool, and both would use the same obfuscators; and it
        # may have the lock as a parent's thread held it, with no thread left to release it.
        if self._pool_pid != os.getpid():
            self._lock = threading.Lock()
            self._pool = []
            self._pool_pid = os.getpid()
            self._background = None

    def _new_obfuscators(self, count: int) -> list[_Mpz]:
        if count <= 0:
            return []
        if self._hs is None:
            # r uniform in [1, n). An r sharing a factor with n would factor n: 2^-500.
            bases = [gmpy2.mpz(secrets.randbelow(self.n - 1) + 1) for _ in range(count)]
            return on_every_core(self._classic_obfuscators, bases)
        table = self._fixed_base()
        return on_every_core(
            lambda chunk: [table.random_power() for _ in chunk],
            range(count),
            smallest=_OBFUSCATORS_PER_THREAD,
        )

    def _classic_obfuscators(self, bases: Sequence[_Mpz]) -> list[_Mpz]:
        return list(gmpy2.powmod_base_list(bases, self._n, self._nsquare))

    def _fixed_base(self) -> FixedBase:
        """hs's table, computed once (about 16K multiplications for a 1024-bit key)."""
        with self._lock:
            if self._table is None:
                assert self._hs is not None
                # DJN's exponents: uniform in [0, 2^(key_length / 2)).
                self._table = FixedBase(self._hs, self._nsquare, self.key_length // 2)
            return self._table

    # Encryption ---------------------------------------------------------------------------------

    def raw_encrypt(self, plaintext: int) -> int:
        """The ciphertext of an integer in [0, n), obfuscated."""
        if not isinstance(plaintext, int) or not 0 <= plaintext < self.n:
            raise InvalidArgument("a raw Paillier plaintext is an integer in [0, n)")
        (obfuscator,) = self._take_obfuscators(1)
        return int((plaintext * self._n + 1) * obfuscator % self._nsquare)

    def encrypt(self, value: Number, *, precision: float | None = None) -> EncryptedNumber:
        """`value` encoded (python-paillier's exponent, or the one `precision` asks for), then
        encrypted with a fresh obfuscator."""
        mantissa, exponent = _encode(value, precision=precision)
        (obfuscator,) = self._take_obfuscators(1)
        return EncryptedNumber(
            self, self._encrypt_encoded(mantissa, obfuscator), exponent, obfuscated=True
        )

    def encrypt_many(
        self, values: Iterable[Number] | np.ndarray[Any, Any], *, precision: float | None = None
    ) -> list[EncryptedNumber]:
        """`encrypt` of each value (a list, or a numpy array read in C order)."""
        encodings = _encode_many(values, precision)
        obfuscators = self._take_obfuscators(len(encodings))
        return [
            EncryptedNumber(self, self._encrypt_encoded(mantissa, r), exponent, obfuscated=True)
            for (mantissa, exponent), r in zip(encodings, obfuscators, strict=True)
        ]

    def encrypt_ints(self, values: Sequence[int]) -> list[_Mpz]:
        """Raw ciphertexts of signed integers (|value| <= max_int), each freshly obfuscated."""
        obfuscators = self._take_obfuscators(len(values))
        return [self._encrypt_encoded(int(v), r) for v, r in zip(values, obfuscators, strict=True)]

    def rerandomize(self, ciphertexts: Sequence[_Mpz]) -> list[_Mpz]:
        """The same plaintexts under fresh obfuscators: what sums and packs must get before
        they go back to the key holder, who knows the obfuscators of what it encrypted."""
        obfuscators = self._take_obfuscators(len(ciphertexts))
        nsquare = self._nsquare
        return [c * r % nsquare for c, r in zip(ciphertexts, obfuscators, strict=True)]

    def _encrypt_encoded(self, mantissa: int, obfuscator: _Mpz) -> _Mpz:
        self._check_range(mantissa)
        # g^m = (1 + n)^m = 1 + m * n (mod n^2): the binomial terms past the first vanish.
        return ((mantissa % self._n) * self._n + 1) * obfuscator % self._nsquare

    def _check_range(self, mantissa: int) -> None:
        if not -self.max_int <= mantissa <= self.max_int:
            raise InvalidArgument(
                f"a plaintext of {mantissa.bit_length()} bits does not fit a "
                f"{self.key_length}-bit Paillier key (at most n / 3 in magnitude)",
                bits=mantissa.bit_length(),
            )


def _encode_many(
    values: Iterable[Number] | np.ndarray[Any, Any], precision: float | None
) -> list[tuple[int, int]]:
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        flat = values.astype(np.float64, copy=False).ravel()
        if not np.isfinite(flat).all():
            raise InvalidArgument("Paillier cannot encode inf or nan")
        # Vectorised encoding: scaling by a power of two is exact in binary floating point.
        if precision is None:
            # python-paillier's: the natural exponent leaves at most 56 bits, within int64.
            exponents = (np.frexp(flat)[1].astype(np.int64) - FLOAT_MANTISSA_BITS) // LOG2_BASE
            mantissas = np.ldexp(flat, -exponents * LOG2_BASE).astype(np.int64)
            return list(zip(mantissas.tolist(), exponents.tolist(), strict=True))
        exponent = _precision_exponent(precision)
        scaled = np.ldexp(flat, -exponent * LOG2_BASE)
        if not len(scaled) or np.abs(scaled).max() < 2.0**62:
            # One exponent for all; rint rounds ties to even, as `_scaled` does.
            return [(m, exponent) for m in np.rint(scaled).astype(np.int64).tolist()]
    if isinstance(values, np.ndarray):
        values = values.ravel().tolist()
    return [_encode(value, precision=precision) for value in values]


class PrivateKey:
    """The primes of a public key's modulus; decrypts with the Chinese remainder theorem."""

    __slots__ = ("_hp", "_hq", "_p", "_psquare", "_q", "_q_inverse", "_qsquare", "public_key")

    def __init__(self, public_key: PublicKey, p: int, q: int) -> None:
        if p * q != public_key.n or p == q:
            raise InvalidArgument("p and q are not the two distinct factors of the key's n")
        self.public_key = public_key
        self._p: _Mpz = gmpy2.mpz(p)
        self._q: _Mpz = gmpy2.mpz(q)
        self._psquare: _Mpz = self._p * self._p
        self._qsquare: _Mpz = self._q * self._q
        self._hp = self._h(self._p, self._psquare)
        self._hq = self._h(self._q, self._qsquare)
        self._q_inverse: _Mpz = gmpy2.invert(self._q, self._p)

    def _h(self, prime: _Mpz, prime_square: _Mpz) -> _Mpz:
        """L_p(g^(p-1) mod p^2)^-1 mod p: Paillier's mu, per prime."""
        g_power = gmpy2.powmod(self.public_key.g, prime - 1, prime_square)
        return cast(_Mpz, gmpy2.invert((g_power - 1) // prime, prime))

    @property
    def p(self) -> int:
        return int(self._p)

    @property
    def q(self) -> int:
        return int(self._q)

    def __repr__(self) -> str:
        return f"PrivateKey(key_length={self.public_key.key_length})"

    def raw_decrypt(self, ciphertext: int) -> int:
        """The plaintext in [0, n) of a ciphertext."""
        (plaintext,) = self.raw_decrypt_many([ciphertext])
        return plaintext

    def raw_decrypt_many(self, ciphertexts: Sequence[int]) -> list[int]:
        """`raw_decrypt` of each ciphertext, on every core."""
        nsquare = self.public_key.nsquare
        if not all(0 < ciphertext < nsquare for ciphertext in ciphertexts):
            raise InvalidArgument("a Paillier ciphertext is an integer in (0, n^2)")
        return [int(m) for m in self._decrypt_all([gmpy2.mpz(c) for c in ciphertexts])]

    def decrypt_ints(self, ciphertexts: Sequence[_Mpz]) -> list[int]:
        """The signed integers (`PublicKey.encrypt_ints`, and their sums) of raw ciphertexts."""
        nsquare = self.public_key._nsquare
        if not all(0 < ciphertext < nsquare for ciphertext in ciphertexts):
            raise InvalidArgument("a Paillier ciphertext is an integer in (0, n^2)")
        return [cast(int, self._decode(m, 0)) for m in self._decrypt_all(ciphertexts)]

    def _decrypt_all(self, ciphertexts: Sequence[_Mpz]) -> list[_Mpz]:
        return on_every_core(self._decrypt_chunk, ciphertexts)

    def _decrypt_chunk(self, ciphertexts: Sequence[_Mpz]) -> list[_Mpz]:
        powers_p = gmpy2.powmod_base_list(ciphertexts, self._p - 1, self._psquare)
        powers_q = gmpy2.powmod_base_list(ciphertexts, self._q - 1, self._qsquare)
        return [self._combine(a, b) for a, b in zip(powers_p, powers_q, strict=True)]

    def _combine(self, power_p: _Mpz, power_q: _Mpz) -> _Mpz:
        """m from c^(p-1) mod p^2 and c^(q-1) mod q^2: two half-size exponentiations modulo
        p^2 and q^2 instead of one with exponent lcm(p-1, q-1) modulo n^2, about 4x less work."""
        p, q = self._p, self._q
        m_p = (power_p - 1) // p * self._hp % p
        m_q = (power_q - 1) // q * self._hq % q
        return m_q + (m_p - m_q) * self._q_inverse % p * q

    def decrypt(self, number: EncryptedNumber) -> int | float:
        """The value of an encrypted number: an int for exponents >= 0, else a float."""
        self._check_key(number)
        return self._decode(self._decrypt_chunk([number._ciphertext])[0], number.exponent)

    def decrypt_many(self, numbers: Sequence[EncryptedNumber]) -> list[int | float]:
        """`decrypt` of each number; `numpy.asarray(result, float)` for an array."""
        for number in numbers:
            self._check_key(number)
        plaintexts = self._decrypt_all([number._ciphertext for number in numbers])
        return [
            self._decode(plaintext, number.exponent)
            for plaintext, number in zip(plaintexts, numbers, strict=True)
        ]

    def _check_key(self, number: EncryptedNumber) -> None:
        if number.public_key is not self.public_key and number.public_key != self.public_key:
            raise InvalidArgument("the number was encrypted under another Paillier key")

    def _decode(self, encoding: _Mpz, exponent: int) -> int | float:
        public_key = self.public_key
        if encoding <= public_key.max_int:
            mantissa = int(encoding)
        elif encoding >= public_key.n - public_key.max_int:
            mantissa = int(encoding) - public_key.n
        else:
            raise InvalidArgument(
                "a Paillier plaintext overflowed: a result grew past n / 3 in magnitude"
            )
        if exponent >= 0:
            return mantissa << (exponent * LOG2_BASE)
        try:
            # int / int is correctly rounded in Python, however large the operands.
            return mantissa / (1 << (-exponent * LOG2_BASE))
        except OverflowError:
            raise InvalidArgument("a decrypted value is beyond the range of a float") from None


# --- encrypted numbers ------------------------------------------------------------------------


class EncryptedNumber:
    """A ciphertext and its base-16 exponent; +, -, * and / with plaintexts and each other.

    `obfuscated` is true for a fresh encryption (or one received from the wire) and false for
    the result of an operation, which `to_ints` re-randomises before it is sent.
    """

    __slots__ = ("_ciphertext", "exponent", "obfuscated", "public_key")

    def __init__(
        self, public_key: PublicKey, ciphertext: int, exponent: int = 0, *, obfuscated: bool = False
    ) -> None:
        self.public_key = public_key
        self._ciphertext: _Mpz = gmpy2.mpz(ciphertext)
        self.exponent = exponent
        self.obfuscated = obfuscated

    @property
    def ciphertext(self) -> int:
        """The ciphertext as it is; `to_ints` is the way to send it."""
        return int(self._ciphertext)

    def __repr__(self) -> str:
        return f"EncryptedNumber(exponent={self.exponent})"

    def _derived(self, ciphertext: _Mpz, exponent: int) -> EncryptedNumber:
        # Skips __init__: the ciphertext is an mpz already, and this is every operation's path.
        number = EncryptedNumber.__new__(EncryptedNumber)
        number.public_key = self.public_key
        number._ciphertext = ciphertext
        number.exponent = exponent
        number.obfuscated = False
        return number

    def obfuscate(self) -> EncryptedNumber:
        """The same value under a fresh obfuscator."""
        key = self.public_key
        (obfuscator,) = key._take_obfuscators(1)
        number = self._derived(self._ciphertext * obfuscator % key._nsquare, self.exponent)
        number.obfuscated = True
        return number

    def decrease_exponent_to(self, exponent: int) -> EncryptedNumber:
        """The same value at a lower exponent: its plaintext times 16^(difference)."""
        if exponent > self.exponent:
            raise InvalidArgument(
                f"cannot raise an exponent from {self.exponent} to {exponent}",
                exponent=exponent,
            )
        if exponent == self.exponent:
            return self
        factor = 1 << ((self.exponent - exponent) * LOG2_BASE)
        key = self.public_key
        return self._derived(gmpy2.powmod(self._ciphertext, factor, key._nsquare), exponent)

    def __add__(self, other: EncryptedNumber | Number) -> EncryptedNumber:
        if isinstance(other, EncryptedNumber):
            return self._add_encrypted(other)
        return self._add_plain(other)

    def __radd__(self, other: Number) -> EncryptedNumber:
        return self._add_plain(other)

    def __neg__(self) -> EncryptedNumber:
        key = self.public_key
        return self._derived(gmpy2.invert(self._ciphertext, key._nsquare), self.exponent)

    def __sub__(self, other: EncryptedNumber | Number) -> EncryptedNumber:
        if isinstance(other, EncryptedNumber):
            return self._add_encrypted(-other)
        return self._add_plain(-_as_number(other))

    def __rsub__(self, other: Number) -> EncryptedNumber:
        return (-self)._add_plain(other)

    def __mul__(self, other: Number) -> EncryptedNumber:
        if isinstance(other, EncryptedNumber):
            raise TypeError("Paillier cannot multiply two encrypted numbers")
        mantissa, exponent = _encode_scalar(other)
        key = self.public_key
        key._check_range(mantissa)
        # A negative power is the power of the modular inverse; gmpy2 takes it directly.
        ciphertext = gmpy2.powmod(self._ciphertext, mantissa, key._nsquare)
        return self._derived(ciphertext, self.exponent + exponent)

    def __rmul__(self, other: Number) -> EncryptedNumber:
        return self.__mul__(other)

    def __truediv__(self, other: Number) -> EncryptedNumber:
        return self.__mul__(1 / _as_number(other))

    def _add_encrypted(self, other: EncryptedNumber) -> EncryptedNumber:
        key = self.public_key
        if other.public_key is not key and other.public_key != key:
            raise InvalidArgument("cannot add numbers encrypted under different Paillier keys")
        a, b = self, other
        if a.exponent > b.exponent:
            a = a.decrease_exponent_to(b.exponent)
        elif b.exponent > a.exponent:
            b = b.decrease_exponent_to(a.exponent)
        return self._derived(a._ciphertext * b._ciphertext % key._nsquare, a.exponent)

    def _add_plain(self, value: Number) -> EncryptedNumber:
        key = self.public_key
        mantissa, exponent = _encode(value, max_exponent=self.exponent)
        key._check_range(mantissa)
        number = self.decrease_exponent_to(exponent)
        # Adding m is multiplying by g^m = 1 + m * n; no obfuscator needed, ours is kept.
        g_power = (mantissa % key._n) * key._n + 1
        return self._derived(number._ciphertext * g_power % key._nsquare, exponent)


# --- plaintext matrix times encrypted vector --------------------------------------------------


def dot(
    vector: Sequence[Number] | np.ndarray[Any, Any],
    numbers: Sequence[EncryptedNumber],
    *,
    precision: float | None = None,
) -> EncryptedNumber:
    """sum(vector[i] * numbers[i]) for a plaintext vector; see `matvec`."""
    return matvec(np.asarray(vector).reshape(1, -1), numbers, precision=precision)[0]


def matvec(
    matrix: Sequence[Sequence[Number]] | np.ndarray[Any, Any],
    numbers: Sequence[EncryptedNumber],
    *,
    precision: float | None = None,
    map_partitions: Callable[
        [Callable[[Sequence[_Row]], list[_Mpz]], Sequence[_Row]], list[_Mpz]
    ] = on_every_core,
) -> list[EncryptedNumber]:
    """matrix @ numbers for a plaintext (k, m) matrix and m encrypted numbers: k numbers.

    HeteroLR's host computes X^T @ [[d]] as `matvec(X.T, d)`. Each row is one multi-
    exponentiation, prod(c_i ^ a_i), by Pippenger's bucket method (`multi_power`): about
    bits / w * (m + 2^(w+1)) modular multiplications for a window of w bits instead of m
    exponentiations. Rows are spread over every core, or by `map_partitions` (a computing
    engine's: slices of the rows as Spark jobs).

    Entries of a float row are encoded at one exponent, chosen so its largest entry keeps its
    53 bits (or from `precision`); smaller entries keep the same absolute precision, as a
    float64 sum of the products would. Integer matrices are exact at exponent 0.
    """
    array = np.asarray(matrix)
    if array.ndim != 2 or array.shape[1] != len(numbers):
        raise InvalidArgument(
            f"matvec multiplies a (k, {len(numbers)}) matrix by {len(numbers)} encrypted "
            f"numbers, not a matrix of shape {array.shape}",
            shape=array.shape,
        )
    if array.dtype.kind not in "biuf":
        raise InvalidArgument(f"matvec takes a numeric matrix, not one of dtype {array.dtype}")
    if not numbers:
        raise InvalidArgument("matvec needs at least one encrypted number")
    key = numbers[0].public_key
    for number in numbers:
        if number.public_key is not key and number.public_key != key:
            raise InvalidArgument("matvec's numbers are encrypted under different Paillier keys")
    # Terms at a higher exponent are lowered to the smallest by scaling their multiplier.
    lowest = min(number.exponent for number in numbers)
    scales = [1 << ((number.exponent - lowest) * LOG2_BASE) for number in numbers]
    rows: list[_Row] = []
    for row in array:
        multipliers, exponent = _encode_row(row, precision)
        if any(scale != 1 for scale in scales):
            multipliers = [a * s for a, s in zip(multipliers, scales, strict=True)]
        for a in multipliers:
            key._check_range(a)
        rows.append((multipliers, exponent))
    # A negative multiplier is a power of the ciphertext's inverse.
    ciphertexts = [number._ciphertext for number in numbers]
    negative = sorted({i for multipliers, _ in rows for i, a in enumerate(multipliers) if a < 0})
    inverses = dict(
        zip(negative, batch_invert([ciphertexts[i] for i in negative], key._nsquare), strict=True)
    )

    def products(chunk: Sequence[_Row]) -> list[_Mpz]:
        results = []
        for multipliers, _ in chunk:
            bases = [ciphertexts[i] if a >= 0 else inverses[i] for i, a in enumerate(multipliers)]
            results.append(multi_power(bases, [abs(a) for a in multipliers], key._nsquare))
        return results

    return [
        numbers[0]._derived(product, lowest + exponent)
        for product, (_, exponent) in zip(map_partitions(products, rows), rows, strict=True)
    ]


def _encode_row(row: np.ndarray[Any, Any], precision: float | None) -> tuple[list[int], int]:
    """A row's entries as integers at one exponent: (integers, exponent)."""
    if row.dtype.kind in "biu":
        if precision is None:
            return [int(a) for a in row.tolist()], 0
        values: list[int | float] = [int(a) for a in row.tolist()]
    else:
        floats = row.astype(np.float64, copy=False)
        if not np.isfinite(floats).all():
            raise InvalidArgument("matvec cannot encode inf or nan")
        values = floats.tolist()
    largest = max((abs(v) for v in values), default=0)
    if not largest:
        return [0] * len(values), 0
    if precision is not None:
        exponent = _precision_exponent(precision)
    else:
        exponent = _natural_exponent(float(largest))
    if row.dtype.kind == "f" and math.frexp(largest)[1] - exponent * LOG2_BASE <= 62:
        # Exact: scaling by a power of two loses nothing, and rint rounds ties to even.
        scaled = np.rint(np.ldexp(floats, -exponent * LOG2_BASE)).astype(np.int64)
        integers = scaled.tolist()
    else:
        integers = [_scaled(v, exponent) for v in values]
    # Whole hex digits of zeros at the bottom of every entry cost squarings and carry nothing.
    combined = 0
    for a in integers:
        combined |= abs(a)
    if combined:
        zero_digits = _trailing_zero_bits(combined) // LOG2_BASE
        if zero_digits:
            integers = [a >> (zero_digits * LOG2_BASE) for a in integers]
            exponent += zero_digits
    return integers, exponent


# --- the wire ---------------------------------------------------------------------------------


def to_ints(numbers: Sequence[EncryptedNumber], *, rerandomize: bool = True) -> list[int]:
    """Numbers as non-negative ints for the federation codec's `BigIntegers`:
    ciphertext, then the exponent zigzag-encoded (0, -1, 1, -2 as 0, 1, 2, 3), per number.

    Results of operations get a fresh obfuscator first unless `rerandomize` is false. The
    public key is not included: the receiver has it already (`PublicKey.to_json`).
    """
    if not numbers:
        return []
    key = numbers[0].public_key
    for number in numbers:
        if number.public_key is not key and number.public_key != key:
            raise InvalidArgument("to_ints takes numbers encrypted under one Paillier key")
    stale = sum(1 for number in numbers if not number.obfuscated) if rerandomize else 0
    obfuscators = iter(key._take_obfuscators(stale))
    ints = []
    for number in numbers:
        ciphertext = number._ciphertext
        if rerandomize and not number.obfuscated:
            ciphertext = ciphertext * next(obfuscators) % key._nsquare
        ints.append(int(ciphertext))
        ints.append(_zigzag(number.exponent))
    return ints


def from_ints(public_key: PublicKey, ints: Sequence[int]) -> list[EncryptedNumber]:
    """The numbers `to_ints` made, checked: InvalidArgument for anything else."""
    if len(ints) % 2:
        raise InvalidArgument("Paillier numbers come as (ciphertext, exponent) pairs")
    nsquare = public_key.nsquare
    numbers = []
    for i in range(0, len(ints), 2):
        ciphertext, zigzag = ints[i], ints[i + 1]
        if not isinstance(ciphertext, int) or not 0 < ciphertext < nsquare:
            raise InvalidArgument("a Paillier ciphertext is an integer in (0, n^2)", index=i // 2)
        if not isinstance(zigzag, int) or not 0 <= zigzag <= 2 * MAX_WIRE_EXPONENT:
            raise InvalidArgument(
                f"a Paillier exponent is within +-{MAX_WIRE_EXPONENT}", index=i // 2
            )
        numbers.append(EncryptedNumber(public_key, ciphertext, _unzigzag(zigzag), obfuscated=True))
    return numbers


# --- raw integer ciphertexts: sums per group, packing, the wire -------------------------------
#
# SecureBoost's histograms. The key holder encrypts one signed integer per instance
# (`encrypt_ints`); another party adds them per histogram bin (`sum_by_groups`), packs many sums
# into one plaintext (`pack`: sum_k m_k 2^(width k), so one decryption reads them all),
# re-randomises (`PublicKey.rerandomize`) and sends the rows (`to_rows`); the key holder decrypts
# (`PrivateKey.decrypt_ints`) and splits each plaintext into its values (`unpack`).


def slots(public_key: PublicKey, width: int) -> int:
    """How many signed values of `width` bits (|m| < 2^(width - 1)) one plaintext packs."""
    return max(1, (public_key.key_length - 2) // width)


#: Entries (ciphertexts x columns) below which one process adds them all: forking costs more.
FORK_MINIMUM = 50_000


def sum_by_groups(
    public_key: PublicKey,
    ciphertexts: Sequence[_Mpz],
    groups: np.ndarray[Any, Any],
    size: int,
    *,
    processes: int | None = None,
) -> list[_Mpz]:
    """Per group g in range(size), the sum of the ciphertexts whose row of `groups` holds g.

    `groups` has one row per ciphertext (a histogram: one column per feature, the bin of that
    feature offset by the feature's first group); an empty group is 1, an encryption of 0 with
    no obfuscator (re-randomise before sending). One modular multiplication per entry, a Python
    loop that holds the GIL: with more than FORK_MINIMUM entries the columns are shared among
    `processes` (every core by default) forked processes (see `_forked`).
    """
    if groups.ndim != 2 or len(groups) != len(ciphertexts):
        raise InvalidArgument("sum_by_groups takes one row of groups per ciphertext")
    processes = min(processes or cores(), groups.shape[1])
    if processes <= 1 or groups.size < FORK_MINIMUM or not hasattr(os, "fork"):
        return _sum_by_groups(public_key._nsquare, ciphertexts, groups.tolist(), size)
    parts = np.array_split(np.arange(groups.shape[1]), processes)
    nsquare = public_key._nsquare
    width = _width_bytes(public_key.nsquare)

    def part(columns: np.ndarray[Any, Any]) -> Callable[[], bytes]:
        def work() -> bytes:
            totals = _sum_by_groups(nsquare, ciphertexts, groups[:, columns].tolist(), size)
            return b"".join(int(t).to_bytes(width, "big") for t in totals)

        return work

    children = [_forked(part(columns)) for columns in parts[1:]]
    totals = _sum_by_groups(nsquare, ciphertexts, groups[:, parts[0]].tolist(), size)
    for child in children:
        data = child()
        for g in range(size):
            value = gmpy2.mpz(int.from_bytes(data[g * width : (g + 1) * width], "big"))
            totals[g] = totals[g] * value % nsquare
    return totals


def _sum_by_groups(
    nsquare: _Mpz, ciphertexts: Sequence[_Mpz], rows: list[list[int]], size: int
) -> list[_Mpz]:
    totals: list[_Mpz] = [gmpy2.mpz(1)] * size
    for c, row in zip(ciphertexts, rows, strict=True):
        for g in row:
            totals[g] = totals[g] * c % nsquare
    return totals


def _forked(work: Callable[[], bytes]) -> Callable[[], bytes]:
    """Run `work` in a forked process now; the returned function waits for its bytes.

    A task's worker process is a daemon, which multiprocessing may not give children; a bare
    fork may, and the child does nothing but arithmetic on what it inherited, write to a pipe
    and leave with os._exit (no lock, no gRPC, no handler of the parent's is touched).
    """
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        status = 1
        try:
            os.close(read)
            with os.fdopen(write, "wb") as out:
                out.write(work())
            status = 0
        finally:
            os._exit(status)
    os.close(write)

    def wait() -> bytes:
        with os.fdopen(read, "rb") as source:
            data = source.read()
        _, status = os.waitpid(pid, 0)
        if status != 0:
            raise RuntimeError(f"a forked Paillier worker failed (status {status})")
        return data

    return wait


def pack(public_key: PublicKey, ciphertexts: Sequence[_Mpz], width: int) -> list[_Mpz]:
    """Ciphertexts of sum_k m_(j s + k) 2^(width k), for consecutive runs of s = `slots` values.

    Horner's rule from the top value down: width squarings per value, done for every run at
    once by gmpy2 (in parallel). Each value must satisfy |m| < 2^(width - 1); `unpack` reads
    them back.
    """
    count = slots(public_key, width)
    runs = [list(ciphertexts[k : k + count]) for k in range(0, len(ciphertexts), count)]
    nsquare = public_key._nsquare
    shift = gmpy2.mpz(1) << width
    packed = [run[-1] for run in runs]
    for position in range(count - 2, -1, -1):
        active = [j for j, run in enumerate(runs) if len(run) > position + 1]
        if not active:
            continue
        shifted = on_every_core(
            lambda chunk: list(gmpy2.powmod_base_list(chunk, shift, nsquare)),
            [packed[j] for j in active],
        )
        for j, value in zip(active, shifted, strict=True):
            packed[j] = value * runs[j][position] % nsquare
    return packed


def unpack(value: int, width: int, count: int) -> list[int]:
    """The `count` signed values of `width` bits that `pack` put in a plaintext, lowest first."""
    half = 1 << (width - 1)
    mask = (1 << width) - 1
    values = []
    for _ in range(count):
        low = ((value + half) & mask) - half
        values.append(low)
        value = (value - low) >> width
    if value:
        raise InvalidArgument("a packed Paillier plaintext holds more than its values")
    return values


def _width_bytes(modulus: int) -> int:
    return (modulus.bit_length() + 7) // 8


def to_rows(public_key: PublicKey, ciphertexts: Sequence[_Mpz]) -> np.ndarray[Any, Any]:
    """Raw ciphertexts as a (count, bytes of n^2) uint8 array, big-endian: a wire-legal array."""
    width = _width_bytes(public_key.nsquare)
    data = b"".join(int(c).to_bytes(width, "big") for c in ciphertexts)
    return np.frombuffer(data, np.uint8).reshape(len(ciphertexts), width)


def from_rows(public_key: PublicKey, rows: object) -> list[_Mpz]:
    """The ciphertexts of `to_rows`, checked: InvalidArgument for anything else."""
    width = _width_bytes(public_key.nsquare)
    if (
        not isinstance(rows, np.ndarray)
        or rows.dtype != np.uint8
        or rows.ndim != 2
        or rows.shape[1] != width
    ):
        raise InvalidArgument(f"Paillier ciphertexts come as rows of {width} bytes")
    data = rows.tobytes()
    nsquare = public_key._nsquare
    values = [
        gmpy2.mpz(int.from_bytes(data[k : k + width], "big")) for k in range(0, len(data), width)
    ]
    for index, c in enumerate(values):
        if not 0 < c < nsquare:
            raise InvalidArgument("a Paillier ciphertext is an integer in (0, n^2)", index=index)
    return values
