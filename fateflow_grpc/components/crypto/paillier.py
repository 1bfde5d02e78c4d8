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

Keys: n = p * q with p, q random primes of key_length / 2 bits each and g = n + 1, so
g^m mod n^2 is 1 + m * n and never a modular exponentiation.

Numbers: an encrypted number is a ciphertext with a base-16 exponent, python-paillier's
`EncodedNumber` scheme (which FATE 1.x's `FixedPointNumber` copies): a float x is the integer
round(x * 16^-e), with e chosen so all 53 bits of its mantissa survive; an int has e = 0. The
integer is stored modulo n, negatives as n - |m|, and must stay within n / 3 in magnitude.
Adding numbers of different exponents first lowers the larger one (a multiplication of its
plaintext by a power of 16), so mixed exponents add exactly. `encrypt` encodes as
python-paillier does, bit for bit, and either library decrypts the other's ciphertexts under the
same key. Multipliers are encoded with the fewest digits instead (see `_encode_scalar`).

Obfuscation: encrypting is (1 + m * n) * r^n mod n^2 for a fresh random r. The r^n come from a
pool that each public key fills ahead of time in batches (`PublicKey.precompute`, or
automatically when it runs dry), so encryption itself is one modular multiplication. The
trade-off: the pool moves the cost of encryption, it does not remove it; each value costs the
same modular exponentiation whenever it is computed, so filling the pool during idle time (while
waiting for another party) is what makes encryption fast where it counts. Each value is used
exactly once (two ciphertexts sharing an r reveal the difference of their plaintexts), which is
why the pool is dropped when the process forks and never copied or pickled. A pooled value is
as secret as the plaintext it will hide, and holds about 300 bytes of memory at 1024 bits.

A key holder encrypts faster: with p and q at hand, r^n mod n^2 is put together (Chinese
remainder theorem) from a^p mod p^2 and b^q mod q^2 for uniform a in Z_p*, b in Z_q*, which has
exactly the distribution of r^n for uniform r (see `PrivateKey._crt_obfuscators`), at a third of
the cost. A `PrivateKey` makes its public key's pool fill that way.

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
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import gmpy2
import numpy as np

from fateflow_grpc.errors import InvalidArgument

#: FATE's default `encrypt_param.key_length`.
DEFAULT_KEY_LENGTH = 1024
#: Smaller moduli are factorable by well-funded attackers (and 100-bit ones by anyone).
MIN_KEY_LENGTH = 1024
#: Key generation grows with the cube of the length; past this it is a typo, not a choice.
MAX_KEY_LENGTH = 8192
#: Key lengths are whole multiples of this: 1000 or 1030 are typos of 1024.
KEY_LENGTH_STEP = 64

BASE = 16
LOG2_BASE = 4
FLOAT_MANTISSA_BITS = 53
#: The magnitude of exponents accepted from the wire. A float's natural exponent lies within
#: [-282, 243] and sums of products add two; lowering an exponent by d costs 4 * d modular
#: squarings, so a peer may not ask for an unbounded amount of work.
MAX_WIRE_EXPONENT = 4096
#: Obfuscators computed in one refill when the pool runs dry.
DEFAULT_OBFUSCATOR_BATCH = 64

#: An int-like gmpy2 `mpz` at run time. gmpy2 ships no type stubs; mpz has int's arithmetic,
#: so we type the values as int and convert to int at the public boundary (`to_ints`).
_Mpz = int

Number = int | float | np.integer[Any] | np.floating[Any]


def validate_key_length(key_length: object) -> int:
    """`key_length` if it is a usable modulus length in bits, else InvalidArgument."""
    if not isinstance(key_length, int) or isinstance(key_length, bool):
        raise InvalidArgument(
            f"a Paillier key_length is an integer number of bits, not {key_length!r}",
            key_length=key_length,
        )
    if not MIN_KEY_LENGTH <= key_length <= MAX_KEY_LENGTH or key_length % KEY_LENGTH_STEP:
        raise InvalidArgument(
            f"a Paillier key_length must be a multiple of {KEY_LENGTH_STEP} from "
            f"{MIN_KEY_LENGTH} to {MAX_KEY_LENGTH} bits, not {key_length}",
            key_length=key_length,
        )
    return key_length


def generate_keypair(key_length: int = DEFAULT_KEY_LENGTH) -> tuple[PublicKey, PrivateKey]:
    """A fresh key pair whose modulus has exactly `key_length` bits."""
    validate_key_length(key_length)
    half = key_length // 2
    p = _random_prime(half)
    q = _random_prime(half)
    while q == p:
        q = _random_prime(half)
    # Both primes have their two top bits set, so n has exactly key_length bits; and as they
    # have the same size neither divides the other minus one, so gcd(n, (p-1)(q-1)) = 1.
    public_key = PublicKey(p * q)
    return public_key, PrivateKey(public_key, p, q)


def _random_prime(bits: int) -> int:
    while True:
        candidate = secrets.randbits(bits) | (3 << (bits - 2)) | 1
        # GMP's next_prime runs Baillie-PSW plus Miller-Rabin rounds: no known composite passes.
        prime = int(gmpy2.next_prime(candidate))
        if prime.bit_length() == bits:
            return prime


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
    """The modulus n, with a pool of precomputed obfuscators; equal keys have equal n."""

    __slots__ = (
        "_filler",
        "_lock",
        "_n",
        "_nsquare",
        "_pool",
        "_pool_pid",
        "_prefiller",
        "max_int",
        "n",
        "nsquare",
        "obfuscator_batch",
    )

    def __init__(self, n: int, *, obfuscator_batch: int = DEFAULT_OBFUSCATOR_BATCH) -> None:
        if not isinstance(n, int) or isinstance(n, bool) or n <= 0 or n % 2 == 0:
            raise InvalidArgument("a Paillier modulus is a positive odd integer", n=n)
        validate_key_length(n.bit_length())
        if obfuscator_batch < 1:
            raise InvalidArgument(
                f"obfuscator_batch must be at least 1, not {obfuscator_batch}",
                obfuscator_batch=obfuscator_batch,
            )
        self.n = n
        self.nsquare = n * n
        #: Plaintexts up to max_int are positive, those from n - max_int on negative, and
        #: the gap between them catches overflows (python-paillier's choice of n / 3).
        self.max_int = n // 3 - 1
        self.obfuscator_batch = obfuscator_batch
        self._n: _Mpz = gmpy2.mpz(n)
        self._nsquare: _Mpz = gmpy2.mpz(self.nsquare)
        self._pool: list[_Mpz] = []
        self._pool_pid = os.getpid()
        self._lock = threading.Lock()
        #: Computes obfuscators faster when the private key is at hand (set by `PrivateKey`).
        self._filler: Callable[[int], list[_Mpz]] | None = None
        self._prefiller: threading.Thread | None = None

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
        return f"PublicKey(key_length={self.key_length}, n=0x{self.n:x}"[:56] + "...)"

    def __reduce__(self) -> tuple[type[PublicKey], tuple[int]]:
        # Copies and pickles carry n only: a copied pool would hand out obfuscators twice.
        return PublicKey, (self.n,)

    def to_json(self) -> dict[str, int]:
        return {"n": self.n}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> PublicKey:
        n = data.get("n") if isinstance(data, Mapping) else None
        if not isinstance(n, int) or isinstance(n, bool):
            raise InvalidArgument("a Paillier public key is {'n': <int>}", data=data)
        return cls(n)

    # Obfuscators -------------------------------------------------------------------------------

    def precompute(self, count: int) -> None:
        """Compute `count` more obfuscators now, typically while waiting for another party."""
        self._check_pid()
        with self._lock:
            self._fill(count)

    def prefill(self, count: int) -> None:
        """Top the pool up to `count` obfuscators in a background thread, a batch at a time
        outside the lock (so encryptions meanwhile take what is ready): the work a party
        does while it waits for another, when its core would be idle. gmpy2 computes them
        without the GIL. A fill already running is left to finish."""
        self._check_pid()
        if self._prefiller is not None and self._prefiller.is_alive():
            return

        def run() -> None:
            while (missing := count - self.precomputed) > 0:
                values = self._obfuscators(min(missing, 4 * self.obfuscator_batch))
                with self._lock:
                    self._pool.extend(values)

        self._prefiller = threading.Thread(target=run, name="paillier-obfuscators", daemon=True)
        self._prefiller.start()

    def _take_obfuscators(self, count: int) -> list[_Mpz]:
        self._check_pid()
        with self._lock:
            missing = count - len(self._pool)
            if missing > 0:
                batches = -(-missing // self.obfuscator_batch)
                self._fill(batches * self.obfuscator_batch)
            taken = self._pool[len(self._pool) - count :]
            del self._pool[len(self._pool) - count :]
            return taken

    def _check_pid(self) -> None:
        # A forked child has its parent's pool, and both would use the same r; and it may have
        # the lock as a parent's thread held it, with no thread left to release it.
        if self._pool_pid != os.getpid():
            self._lock = threading.Lock()
            self._pool = []
            self._pool_pid = os.getpid()
            self._prefiller = None

    def _fill(self, count: int) -> None:
        if count > 0:
            self._pool.extend(self._obfuscators(count))

    def _obfuscators(self, count: int) -> list[_Mpz]:
        if self._filler is not None:
            return self._filler(count)
        # r uniform in [1, n). An r sharing a factor with n would factor n: probability 2^-500.
        bases = [gmpy2.mpz(secrets.randbelow(self.n - 1) + 1) for _ in range(count)]
        return _powmod_all(bases, self._n, self._nsquare)

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
    if isinstance(values, np.ndarray) and values.dtype.kind == "f" and precision is None:
        flat = values.astype(np.float64, copy=False).ravel()
        if not np.isfinite(flat).all():
            raise InvalidArgument("Paillier cannot encode inf or nan")
        # Vectorised python-paillier encoding: scaling by a power of two is exact in binary
        # floating point, and the natural exponent leaves at most 56 bits, within int64.
        exponents = (np.frexp(flat)[1].astype(np.int64) - FLOAT_MANTISSA_BITS) // LOG2_BASE
        mantissas = np.ldexp(flat, -exponents * LOG2_BASE).astype(np.int64)
        return list(zip(mantissas.tolist(), exponents.tolist(), strict=True))
    if isinstance(values, np.ndarray):
        values = values.ravel().tolist()
    return [_encode(value, precision=precision) for value in values]


class PrivateKey:
    """The primes of a public key's modulus; decrypts with the Chinese remainder theorem."""

    __slots__ = (
        "_hp",
        "_hq",
        "_p",
        "_psquare",
        "_q",
        "_q_inverse",
        "_qsquare",
        "_qsquare_inverse",
        "public_key",
    )

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
        self._qsquare_inverse: _Mpz = gmpy2.invert(self._qsquare, self._psquare)
        # The shortcut's distribution argument needs q prime to p - 1 and p to q - 1: always
        # true for keys of two equal-size primes (see generate_keypair), checked for others.
        if gmpy2.gcd(self._q, self._p - 1) == 1 and gmpy2.gcd(self._p, self._q - 1) == 1:
            public_key._filler = self._crt_obfuscators

    def _crt_obfuscators(self, count: int) -> list[_Mpz]:
        """`count` values distributed exactly as r^n mod n^2 for r uniform in Z_n*.

        Z_p^2* is cyclic of order p(p - 1); its subgroup U_p of order p - 1 is the image of
        a -> a^p mod p^2, an isomorphism from Z_p* (a^p = a mod p). r^n mod p^2 = (r^p)^q
        depends on r mod p only and is uniform in U_p when r is, because x -> x^q permutes
        U_p when q is prime to p - 1. So a^p mod p^2 for uniform a in Z_p* (a 512-bit exponent
        modulo p^2 at 1024 bits, not a 1024-bit one modulo n^2) has r^n's distribution, and
        likewise modulo q^2, independently; CRT joins the two.
        """
        p, q, psquare, qsquare = self._p, self._q, self._psquare, self._qsquare
        a = [gmpy2.mpz(secrets.randbelow(int(p) - 1) + 1) for _ in range(count)]
        b = [gmpy2.mpz(secrets.randbelow(int(q) - 1) + 1) for _ in range(count)]
        modulo_p = _powmod_all(a, p, psquare)
        modulo_q = _powmod_all(b, q, qsquare)
        inverse = self._qsquare_inverse
        return [
            y + qsquare * ((x - y) * inverse % psquare)
            for x, y in zip(modulo_p, modulo_q, strict=True)
        ]

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
        if not 0 < ciphertext < self.public_key.nsquare:
            raise InvalidArgument("a Paillier ciphertext is an integer in (0, n^2)")
        return int(
            self._combine(
                gmpy2.powmod(ciphertext, self._p - 1, self._psquare),
                gmpy2.powmod(ciphertext, self._q - 1, self._qsquare),
            )
        )

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
        return self._decode(
            self._combine(
                gmpy2.powmod(number._ciphertext, self._p - 1, self._psquare),
                gmpy2.powmod(number._ciphertext, self._q - 1, self._qsquare),
            ),
            number.exponent,
        )

    def decrypt_many(self, numbers: Sequence[EncryptedNumber]) -> list[int | float]:
        """`decrypt` of each number; `numpy.asarray(result, float)` for an array."""
        for number in numbers:
            self._check_key(number)
        ciphertexts = [number._ciphertext for number in numbers]
        powers_p = _powmod_all(ciphertexts, self._p - 1, self._psquare)
        powers_q = _powmod_all(ciphertexts, self._q - 1, self._qsquare)
        return [
            self._decode(self._combine(power_p, power_q), number.exponent)
            for power_p, power_q, number in zip(powers_p, powers_q, numbers, strict=True)
        ]

    def decrypt_ints(self, ciphertexts: Sequence[_Mpz]) -> list[int]:
        """The signed integers (`PublicKey.encrypt_ints`, and their sums) of raw ciphertexts."""
        nsquare = self.public_key._nsquare
        for c in ciphertexts:
            if not 0 < c < nsquare:
                raise InvalidArgument("a Paillier ciphertext is an integer in (0, n^2)")
        powers_p = _powmod_all(list(ciphertexts), self._p - 1, self._psquare)
        powers_q = _powmod_all(list(ciphertexts), self._q - 1, self._qsquare)
        return [
            cast(int, self._decode(self._combine(x, y), 0))
            for x, y in zip(powers_p, powers_q, strict=True)
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
) -> list[EncryptedNumber]:
    """matrix @ numbers for a plaintext (k, m) matrix and m encrypted numbers: k numbers.

    HeteroLR's host computes X^T @ [[d]] as `matvec(X.T, d)`. Each row is one multi-
    exponentiation, prod(c_i ^ a_i), by Pippenger's bucket method: about bits / w * (m + 2^w)
    modular multiplications for a window of w bits instead of m exponentiations.

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
    ciphertexts = [number._ciphertext for number in numbers]
    inverses: dict[int, _Mpz] = {}
    results = []
    for row in array:
        multipliers, exponent = _encode_row(row, precision)
        if any(scale != 1 for scale in scales):
            multipliers = [a * s for a, s in zip(multipliers, scales, strict=True)]
        for a in multipliers:
            key._check_range(a)
        negative = [i for i, a in enumerate(multipliers) if a < 0 and i not in inverses]
        if negative:
            inverses.update(
                zip(negative, _batch_invert([ciphertexts[i] for i in negative], key), strict=True)
            )
        bases = []
        powers = []
        for i, a in enumerate(multipliers):
            if a > 0:
                bases.append(ciphertexts[i])
                powers.append(a)
            elif a < 0:
                bases.append(inverses[i])
                powers.append(-a)
        product = _multi_power(bases, powers, key._nsquare)
        results.append(numbers[0]._derived(product, lowest + exponent))
    return results


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


def _batch_invert(values: list[_Mpz], key: PublicKey) -> list[_Mpz]:
    """Modular inverses of many values with one inversion (Montgomery's trick)."""
    nsquare = key._nsquare
    prefix = [values[0]]
    for value in values[1:]:
        prefix.append(prefix[-1] * value % nsquare)
    inverse = gmpy2.invert(prefix[-1], nsquare)
    inverses = [values[0]] * len(values)
    for i in range(len(values) - 1, 0, -1):
        inverses[i] = inverse * prefix[i - 1] % nsquare
        inverse = inverse * values[i] % nsquare
    inverses[0] = inverse
    return inverses


#: A modular exponentiation costs about this many Python-level modular multiplications per
#: exponent bit (measured with gmpy2 at 2048-bit moduli: C squarings, but no call overhead).
_POWMOD_COST_PER_BIT = 0.8


def _multi_power(bases: list[_Mpz], powers: list[int], modulus: _Mpz) -> _Mpz:
    """prod(bases[i] ^ powers[i]) mod modulus, powers > 0."""
    if not bases:
        return cast(_Mpz, gmpy2.mpz(1))
    bits = max(power.bit_length() for power in powers)
    count = len(bases)
    direct_cost = count * (_POWMOD_COST_PER_BIT * bits + 1)
    window, bucket_cost = min(
        (
            (w, -(-bits // w) * (count + 2 ** (w + 1)) + _POWMOD_COST_PER_BIT * bits)
            for w in range(1, 17)
        ),
        key=lambda choice: choice[1],
    )
    if direct_cost <= bucket_cost:
        product = gmpy2.mpz(1)
        for base, power in zip(bases, powers, strict=True):
            product = product * gmpy2.powmod(base, power, modulus) % modulus
        return cast(_Mpz, product)
    # Pippenger: per window of bits, from the top, put each base in the bucket of its digit,
    # then sum_d d * bucket_d by running products, and shift the accumulator by the window.
    mask = (1 << window) - 1
    accumulator: _Mpz | None = None
    for shift in range(-(-bits // window) * window - window, -1, -window):
        buckets: list[_Mpz | None] = [None] * (mask + 1)
        for base, power in zip(bases, powers, strict=True):
            digit = (power >> shift) & mask
            if digit:
                held = buckets[digit]
                buckets[digit] = base if held is None else held * base % modulus
        running: _Mpz | None = None
        window_sum: _Mpz | None = None
        for digit in range(mask, 0, -1):
            held = buckets[digit]
            if held is not None:
                running = held if running is None else running * held % modulus
            if running is not None:
                window_sum = running if window_sum is None else window_sum * running % modulus
        if accumulator is not None:
            accumulator = gmpy2.powmod(accumulator, 1 << window, modulus)
            if window_sum is not None:
                accumulator = accumulator * window_sum % modulus
        else:
            accumulator = window_sum
    return cast(_Mpz, accumulator if accumulator is not None else gmpy2.mpz(1))


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

#: Below this many exponentiations one thread does them all: a thread costs more than it saves.
_PARALLEL_MINIMUM = 64


def _powmod_all(bases: list[_Mpz], exponent: _Mpz | int, modulus: _Mpz) -> list[_Mpz]:
    """[b^exponent mod modulus for b in bases], on every core: gmpy2's list functions release
    the GIL, so threads run them in parallel."""
    workers = min(os.cpu_count() or 1, len(bases) // _PARALLEL_MINIMUM)
    if workers <= 1:
        return cast(list[_Mpz], gmpy2.powmod_base_list(bases, exponent, modulus))
    size = -(-len(bases) // workers)
    chunks = [bases[k : k + size] for k in range(0, len(bases), size)]
    with ThreadPoolExecutor(len(chunks)) as pool:
        parts = pool.map(lambda chunk: gmpy2.powmod_base_list(chunk, exponent, modulus), chunks)
        return [value for part in parts for value in part]


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
    processes = min(processes or os.cpu_count() or 1, groups.shape[1])
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
        shifted = _powmod_all([packed[j] for j in active], shift, nsquare)
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
