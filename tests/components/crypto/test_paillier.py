"""Paillier: round trips, homomorphic operations, matvec against numpy, python-paillier as an
oracle for the encoding and the ciphertexts, the textbook decryption as one for the CRT.

Every test that takes a key runs twice: with DJN obfuscators (the default) and with classic
ones."""

from __future__ import annotations

import ast
import copy
import json
import math
import os
import pickle
import random
import sys
from pathlib import Path

import gmpy2
import numpy as np
import phe
import pytest

from fateflow_grpc.components.crypto import exponentiation, paillier
from fateflow_grpc.components.crypto.paillier import EncryptedNumber, PrivateKey, PublicKey
from fateflow_grpc.errors import InvalidArgument

FLOATS = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.1,
    -0.3,
    3.141592653589793,
    -2.5e-7,
    123456.789,
    1e300,
    -1e-300,
    5e-324,  # the smallest subnormal
    sys.float_info.max,
]
INTS = [0, 1, -1, 7, -123456789, 2**62, -(2**200)]


@pytest.fixture(scope="module", params=["djn", "classic"])
def keys(request: pytest.FixtureRequest) -> tuple[PublicKey, PrivateKey]:
    # Key generation is the slow part: one 1024-bit pair of each kind for the whole module.
    return paillier.generate_keypair(1024, djn=request.param == "djn")


@pytest.fixture(scope="module")
def public_key(keys: tuple[PublicKey, PrivateKey]) -> PublicKey:
    return keys[0]


@pytest.fixture(scope="module")
def private_key(keys: tuple[PublicKey, PrivateKey]) -> PrivateKey:
    return keys[1]


@pytest.fixture(scope="module")
def phe_keys(
    keys: tuple[PublicKey, PrivateKey],
) -> tuple[phe.PaillierPublicKey, phe.PaillierPrivateKey]:
    """python-paillier's keys for the same primes."""
    public_key = phe.PaillierPublicKey(keys[0].n)
    return public_key, phe.PaillierPrivateKey(public_key, keys[1].p, keys[1].q)


def textbook_decrypt(private_key: PrivateKey, ciphertext: int) -> int:
    """Paillier's decryption as in the paper: L(c^lambda mod n^2) * mu mod n."""
    n = private_key.public_key.n
    nsquare = n * n
    lam = math.lcm(private_key.p - 1, private_key.q - 1)
    mu = int(gmpy2.invert((pow(n + 1, lam, nsquare) - 1) // n, n))
    return (pow(ciphertext, lam, nsquare) - 1) // n * mu % n


@pytest.mark.parametrize("module", [paillier, exponentiation])
def test_the_modules_import_nothing_of_grpc_or_protobuf(module: object) -> None:
    """They run inside components, which must not depend on the wire layer (the codec's
    `BigIntegers` wraps what `to_ints` returns)."""
    source = ast.parse(Path(str(getattr(module, "__file__", ""))).read_text())
    imported = {
        alias.name
        for node in ast.walk(source)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {node.module or "" for node in ast.walk(source) if isinstance(node, ast.ImportFrom)}
    assert imported <= {
        "__future__",
        "collections.abc",
        "concurrent.futures",
        "gmpy2",
        "math",
        "numpy",
        "os",
        "secrets",
        "threading",
        "typing",
        "fateflow_grpc.components.crypto.exponentiation",
        "fateflow_grpc.errors",
    }


# --- keys -------------------------------------------------------------------------------------


def test_generated_key_has_the_asked_length_and_equal_size_primes(
    public_key: PublicKey, private_key: PrivateKey
) -> None:
    assert public_key.key_length == 1024
    assert private_key.p * private_key.q == public_key.n
    assert private_key.p.bit_length() == private_key.q.bit_length() == 512
    assert gmpy2.is_prime(private_key.p) and gmpy2.is_prime(private_key.q)
    assert public_key.g == public_key.n + 1
    # DJN's admissible modulus, for both kinds of key.
    assert private_key.p % 4 == private_key.q % 4 == 3
    assert math.gcd(private_key.p - 1, private_key.q - 1) == 2


def test_djn_keys_carry_the_base_of_their_obfuscators(
    public_key: PublicKey, private_key: PrivateKey
) -> None:
    if public_key.hs is None:
        assert public_key.to_json() == {"n": public_key.n}
        return
    assert public_key.to_json() == {"n": public_key.n, "hs": public_key.hs}
    # hs is an n-th residue (an encryption of 0) of Jacobi symbol 1 modulo n.
    assert private_key.raw_decrypt(public_key.hs) == 0
    assert gmpy2.jacobi(public_key.hs % public_key.n, public_key.n) == 1


def test_every_obfuscator_is_an_encryption_of_zero(
    public_key: PublicKey, private_key: PrivateKey
) -> None:
    obfuscators = PublicKey(public_key.n, public_key.hs)._take_obfuscators(50)
    assert len(set(obfuscators)) == 50
    assert private_key.raw_decrypt_many([int(r) for r in obfuscators]) == [0] * 50


@pytest.mark.parametrize("hs", [0, 1, -5, "7", True])
def test_a_djn_base_must_be_a_unit_other_than_one(public_key: PublicKey, hs: object) -> None:
    with pytest.raises(InvalidArgument):
        PublicKey.from_json({"n": public_key.n, "hs": hs})
    for bad in (public_key.nsquare, public_key.n, public_key.n * 5):
        with pytest.raises(InvalidArgument, match="unit"):
            PublicKey(public_key.n, bad)


@pytest.mark.parametrize("key_length", [100, 512, 1000, 1023, 1025, 1205, 9216, 0, -1024])
def test_unusable_key_lengths_are_refused(key_length: int) -> None:
    with pytest.raises(InvalidArgument, match="key_length must be an even number of bits"):
        paillier.generate_keypair(key_length)


@pytest.mark.parametrize("key_length", ["1024", 1024.0, True, None])
def test_key_length_must_be_an_integer(key_length: object) -> None:
    with pytest.raises(InvalidArgument, match="integer number of bits"):
        paillier.validate_key_length(key_length)


def test_usable_key_lengths_pass() -> None:
    assert paillier.validate_key_length(1024) == 1024
    assert paillier.validate_key_length(2048) == 2048
    assert paillier.validate_key_length(3072) == 3072


def test_an_even_key_length_off_the_usual_ones_works() -> None:
    # FATE 1.11.4's fast SBT example asks for 1204 bits, which FATE's key generation takes.
    public_key, private_key = paillier.generate_keypair(1204)
    assert public_key.key_length == 1204
    assert PublicKey.from_json(public_key.to_json()).n == public_key.n
    values = [0, -7, 3.25, 2**60]
    assert private_key.decrypt_many(public_key.encrypt_many(values)) == values


def test_small_or_even_moduli_are_refused() -> None:
    with pytest.raises(InvalidArgument, match="key_length"):
        PublicKey(3233)  # 61 * 53, a 12-bit key
    with pytest.raises(InvalidArgument, match="odd"):
        PublicKey(2**1024 - 2)


def test_private_key_must_factor_the_modulus(keys: tuple[PublicKey, PrivateKey]) -> None:
    public_key, private_key = keys
    with pytest.raises(InvalidArgument, match="factors"):
        PrivateKey(public_key, private_key.p, private_key.q + 2)


def test_private_key_repr_shows_no_prime(private_key: PrivateKey) -> None:
    text = repr(private_key)
    assert str(private_key.p) not in text and f"{private_key.p:x}" not in text


# --- encryption and decryption ----------------------------------------------------------------


@pytest.mark.parametrize("value", INTS)
def test_ints_round_trip_exactly(
    public_key: PublicKey, private_key: PrivateKey, value: int
) -> None:
    decrypted = private_key.decrypt(public_key.encrypt(value))
    assert decrypted == value and isinstance(decrypted, int)


@pytest.mark.parametrize("value", FLOATS)
def test_floats_round_trip_exactly(
    public_key: PublicKey, private_key: PrivateKey, value: float
) -> None:
    # The natural exponent keeps every bit of the mantissa, so nothing is lost.
    assert private_key.decrypt(public_key.encrypt(value)) == value


def test_numpy_scalars_are_numbers(public_key: PublicKey, private_key: PrivateKey) -> None:
    assert private_key.decrypt(public_key.encrypt(np.int32(-5))) == -5
    assert private_key.decrypt(public_key.encrypt(np.float32(0.5))) == 0.5


def test_precision_rounds_to_the_asked_exponent(
    public_key: PublicKey, private_key: PrivateKey
) -> None:
    number = public_key.encrypt(math.pi, precision=1e-6)
    assert number.exponent == math.floor(math.log(1e-6, 16))
    assert private_key.decrypt(number) == pytest.approx(math.pi, abs=1e-6)


def test_encryption_is_randomised(public_key: PublicKey, private_key: PrivateKey) -> None:
    first, second = public_key.encrypt(42), public_key.encrypt(42)
    assert first.ciphertext != second.ciphertext
    assert private_key.decrypt(first) == private_key.decrypt(second) == 42


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, "1", None, [1]])
def test_unencodable_values_are_refused(public_key: PublicKey, value: object) -> None:
    with pytest.raises(InvalidArgument):
        public_key.encrypt(value)  # type: ignore[arg-type]


def test_values_beyond_n_over_3_are_refused(public_key: PublicKey) -> None:
    with pytest.raises(InvalidArgument, match="does not fit"):
        public_key.encrypt(public_key.n // 2)


def test_precision_encodes_arrays_as_it_encodes_values() -> None:
    # The vectorised path must round exactly as `_encode` does, ties to even included.
    unit = 2.0**-40
    values = np.array([0.0, 1.5 * unit, 2.5 * unit, -2.5 * unit, math.pi, -1e-13, 12345.678])
    assert paillier._encode_many(values, 2.0**-40) == [
        paillier._encode(float(v), precision=2.0**-40) for v in values
    ]
    # Beyond int64 after scaling: the exact path.
    big = np.array([1e30, -3.0])
    assert paillier._encode_many(big, 2.0**-40) == [
        paillier._encode(float(v), precision=2.0**-40) for v in big
    ]


def test_raw_encrypt_and_decrypt(public_key: PublicKey, private_key: PrivateKey) -> None:
    plaintext = public_key.n - 12345
    assert private_key.raw_decrypt(public_key.raw_encrypt(plaintext)) == plaintext
    with pytest.raises(InvalidArgument):
        public_key.raw_encrypt(public_key.n)


def test_encrypt_many_matches_encrypt(public_key: PublicKey, private_key: PrivateKey) -> None:
    rng = np.random.default_rng(1)
    values = np.concatenate([rng.normal(size=20) * 10.0 ** rng.integers(-12, 12, 20), FLOATS])
    many = public_key.encrypt_many(values)
    assert [n.exponent for n in many] == [public_key.encrypt(v).exponent for v in values]
    assert private_key.decrypt_many(many) == values.tolist()
    assert private_key.decrypt_many(public_key.encrypt_many(INTS)) == INTS
    assert private_key.decrypt_many(public_key.encrypt_many(np.arange(-3, 3))) == [
        -3,
        -2,
        -1,
        0,
        1,
        2,
    ]
    assert public_key.encrypt_many([]) == []


def test_decrypting_under_another_key_is_refused(public_key: PublicKey) -> None:
    _, other_private = paillier.generate_keypair(1024)
    with pytest.raises(InvalidArgument, match="another Paillier key"):
        other_private.decrypt(public_key.encrypt(1))


# --- CRT decryption against the textbook one --------------------------------------------------


def test_crt_decryption_equals_the_textbook_one(
    public_key: PublicKey, private_key: PrivateKey
) -> None:
    rng = random.Random(7)
    numbers = [public_key.encrypt(rng.uniform(-1e6, 1e6)) for _ in range(10)]
    numbers += [numbers[0] * -3.5, numbers[1] + numbers[2], -numbers[3]]
    for number in numbers:
        assert private_key.raw_decrypt(number.ciphertext) == textbook_decrypt(
            private_key, number.ciphertext
        )
    for _ in range(10):  # any unit mod n^2 decrypts to something; both ways agree
        ciphertext = rng.randrange(1, public_key.nsquare)
        assert private_key.raw_decrypt(ciphertext) == textbook_decrypt(private_key, ciphertext)


# --- homomorphic operations -------------------------------------------------------------------


def test_add_encrypted_numbers(public_key: PublicKey, private_key: PrivateKey) -> None:
    a, b = public_key.encrypt(1.5), public_key.encrypt(-0.25)
    assert private_key.decrypt(a + b) == 1.25
    assert private_key.decrypt(a - b) == 1.75
    assert private_key.decrypt(public_key.encrypt(20) + public_key.encrypt(-22)) == -2


@pytest.mark.parametrize(
    ("x", "y"), [(1e-10, 12345.678), (3, 0.5), (2.0**-60, -(2.0**40)), (-7, 1e-30)]
)
def test_mixed_exponents_add_exactly(
    public_key: PublicKey, private_key: PrivateKey, x: float, y: float
) -> None:
    a, b = public_key.encrypt(x), public_key.encrypt(y)
    assert a.exponent != b.exponent
    assert private_key.decrypt(a + b) == x + y
    assert private_key.decrypt(b + a) == y + x
    assert private_key.decrypt(a - b) == x - y


def test_add_and_subtract_plaintexts(public_key: PublicKey, private_key: PrivateKey) -> None:
    a = public_key.encrypt(2.5)
    assert private_key.decrypt(a + 1) == 3.5
    assert private_key.decrypt(1e-9 + a) == 2.5 + 1e-9
    assert private_key.decrypt(a - 0.75) == 1.75
    assert private_key.decrypt(10 - a) == 7.5
    assert private_key.decrypt(-a) == -2.5
    integer = public_key.encrypt(5)
    assert private_key.decrypt(integer + 0.5) == 5.5
    assert private_key.decrypt(integer - 8) == -3


@pytest.mark.parametrize(
    ("x", "k"),
    [
        (3, 7),
        (3, -7),
        (-3, 7),
        (1.5, 3.0),
        (1.5, -0.1),
        (-2.25, 0.25),
        (0.1, 1e-8),
        (5, 0),
        (7.5, 0.0),
    ],
)
def test_scalar_multiplication(
    public_key: PublicKey, private_key: PrivateKey, x: float, k: float
) -> None:
    assert private_key.decrypt(public_key.encrypt(x) * k) == pytest.approx(x * k, rel=1e-15)
    assert private_key.decrypt(k * public_key.encrypt(x)) == pytest.approx(x * k, rel=1e-15)


def test_multiplier_drops_trailing_zero_digits(public_key: PublicKey) -> None:
    # 0.25 is 4 * 16^-1: a 3-bit multiplier, not python-paillier's 55-bit one.
    assert (public_key.encrypt(1.0) * 0.25).exponent == public_key.encrypt(1.0).exponent - 1


def test_division(public_key: PublicKey, private_key: PrivateKey) -> None:
    assert private_key.decrypt(public_key.encrypt(3.0) / 4) == 0.75
    assert private_key.decrypt(public_key.encrypt(1.0) / 3) == pytest.approx(1 / 3, rel=1e-15)


def test_two_encrypted_numbers_do_not_multiply(public_key: PublicKey) -> None:
    with pytest.raises(TypeError):
        public_key.encrypt(2) * public_key.encrypt(3)  # type: ignore[operator]


def test_numbers_under_different_keys_do_not_add(public_key: PublicKey) -> None:
    other, _ = paillier.generate_keypair(1024)
    with pytest.raises(InvalidArgument, match="different Paillier keys"):
        public_key.encrypt(1) + other.encrypt(1)


def test_overflow_is_detected_on_decryption(public_key: PublicKey, private_key: PrivateKey) -> None:
    big = public_key.encrypt(public_key.max_int)
    with pytest.raises(InvalidArgument, match="overflowed"):
        private_key.decrypt(big + big)


def test_results_of_operations_are_marked_for_rerandomising(public_key: PublicKey) -> None:
    fresh = public_key.encrypt(1.0)
    assert fresh.obfuscated
    assert not (fresh + 1).obfuscated and not (fresh * 2).obfuscated
    again = (fresh * 2).obfuscate()
    assert again.obfuscated and again.ciphertext != (fresh * 2).ciphertext


# --- matrix times encrypted vector ------------------------------------------------------------


@pytest.mark.parametrize(("rows", "columns"), [(1, 1), (3, 2), (4, 40), (2, 300)])
def test_matvec_against_numpy(
    public_key: PublicKey, private_key: PrivateKey, rows: int, columns: int
) -> None:
    rng = np.random.default_rng(rows * 1000 + columns)
    matrix = rng.normal(size=(rows, columns)) * 3
    vector = rng.normal(size=columns) * 0.25
    encrypted = public_key.encrypt_many(vector)
    result = np.asarray(private_key.decrypt_many(paillier.matvec(matrix, encrypted)))
    # Exact products rounded once, against numpy's float64 sums: equal to rounding error.
    np.testing.assert_allclose(result, matrix @ vector, rtol=1e-12, atol=1e-12)


def test_matvec_is_the_hetero_lr_gradient(public_key: PublicKey, private_key: PrivateKey) -> None:
    rng = np.random.default_rng(3)
    features = rng.normal(size=(60, 5))
    residuals = rng.uniform(-0.5, 0.5, size=60)
    gradient = paillier.matvec(features.T, public_key.encrypt_many(residuals))
    np.testing.assert_allclose(
        private_key.decrypt_many(gradient), features.T @ residuals, rtol=1e-12, atol=1e-12
    )


def test_matvec_with_mixed_exponents_and_signs(
    public_key: PublicKey, private_key: PrivateKey
) -> None:
    values = [1e-10, -12345.678, 3, -0.5, 2.0**-60]
    encrypted = [public_key.encrypt(v) for v in values]
    assert len({n.exponent for n in encrypted}) > 1
    matrix = np.array([[1.0, 2.0, -3.0, 0.0, 4.5], [0.0, 0.0, 0.0, 0.0, 0.0], [-1e-3, 1, 1, 1, 1]])
    result = private_key.decrypt_many(paillier.matvec(matrix, encrypted))
    np.testing.assert_allclose(result, matrix @ np.array(values), rtol=1e-14, atol=1e-20)


def test_integer_matvec_is_exact(public_key: PublicKey, private_key: PrivateKey) -> None:
    rng = np.random.default_rng(4)
    matrix = rng.integers(-1000, 1000, size=(3, 25))
    vector = [int(v) for v in rng.integers(-(10**9), 10**9, size=25)]
    result = private_key.decrypt_many(paillier.matvec(matrix, public_key.encrypt_many(vector)))
    assert result == [sum(int(a) * v for a, v in zip(row, vector, strict=True)) for row in matrix]


def test_dot_and_precision(public_key: PublicKey, private_key: PrivateKey) -> None:
    rng = np.random.default_rng(5)
    weights, vector = rng.normal(size=30), rng.normal(size=30)
    encrypted = public_key.encrypt_many(vector)
    assert private_key.decrypt(paillier.dot(weights, encrypted)) == pytest.approx(
        weights @ vector, rel=1e-12
    )
    coarse = private_key.decrypt(paillier.dot(weights, encrypted, precision=1e-4))
    assert coarse == pytest.approx(weights @ vector, abs=30 * 1e-4 * np.abs(vector).max())


def test_matvec_refuses_mismatched_shapes(public_key: PublicKey) -> None:
    encrypted = public_key.encrypt_many([1.0, 2.0])
    with pytest.raises(InvalidArgument, match="shape"):
        paillier.matvec(np.ones((2, 3)), encrypted)
    with pytest.raises(InvalidArgument, match="inf or nan"):
        paillier.matvec(np.array([[1.0, np.nan]]), encrypted)


# --- the wire ---------------------------------------------------------------------------------


def test_serialization_round_trip(public_key: PublicKey, private_key: PrivateKey) -> None:
    values = [0.5, -3, 1e-12, -7.25e8]
    numbers = public_key.encrypt_many(values)
    derived = [n * 2 for n in numbers]
    ints = paillier.to_ints(numbers + derived)
    assert all(isinstance(i, int) and i >= 0 for i in ints)
    received = paillier.from_ints(public_key, ints)
    assert private_key.decrypt_many(received) == values + [2 * v for v in values]
    assert [n.exponent for n in received] == [n.exponent for n in numbers + derived]
    # Fresh encryptions go as they are; results of operations get a fresh obfuscator.
    assert [n.ciphertext for n in received[:4]] == [n.ciphertext for n in numbers]
    assert all(r.ciphertext != d.ciphertext for r, d in zip(received[4:], derived, strict=True))
    unchanged = paillier.from_ints(public_key, paillier.to_ints(derived, rerandomize=False))
    assert [n.ciphertext for n in unchanged] == [n.ciphertext for n in derived]
    assert paillier.to_ints([]) == []


def test_public_key_travels_as_json(public_key: PublicKey) -> None:
    received = PublicKey.from_json(json.loads(json.dumps(public_key.to_json())))
    assert received == public_key and hash(received) == hash(public_key)
    assert received.hs == public_key.hs
    with pytest.raises(InvalidArgument):
        PublicKey.from_json({"n": "123"})
    with pytest.raises(InvalidArgument):
        PublicKey.from_json({"n": 3233})


@pytest.mark.parametrize(
    "ints",
    [
        [5],  # a ciphertext without its exponent
        [0, 0],  # zero is no ciphertext
        [-1, 0],
        ["1", 0],
        [1, 2 * paillier.MAX_WIRE_EXPONENT + 1],
        [1, -1],
    ],
)
def test_malformed_wire_numbers_are_refused(public_key: PublicKey, ints: list[int]) -> None:
    with pytest.raises(InvalidArgument):
        paillier.from_ints(public_key, ints)


def test_ciphertexts_beyond_n_squared_are_refused(public_key: PublicKey) -> None:
    with pytest.raises(InvalidArgument, match=r"\(0, n\^2\)"):
        paillier.from_ints(public_key, [public_key.nsquare, 0])


# --- the obfuscator pool ----------------------------------------------------------------------


def test_pool_is_filled_ahead_and_each_value_used_once(keys: tuple[PublicKey, PrivateKey]) -> None:
    public_key = PublicKey(keys[0].n, keys[0].hs)
    public_key.precompute(20)
    assert public_key.precomputed == 20
    numbers = public_key.encrypt_many([1.0] * 15)
    assert public_key.precomputed == 5
    numbers += public_key.encrypt_many([1.0] * 6)  # one short: computed on the spot
    assert public_key.precomputed == 0
    assert len({n.ciphertext for n in numbers}) == 21
    assert keys[1].decrypt_many(numbers) == [1.0] * 21


def test_the_pool_fills_in_the_background(keys: tuple[PublicKey, PrivateKey]) -> None:
    public_key = PublicKey(keys[0].n, keys[0].hs)
    public_key.fill_in_background(40)
    public_key.fill_in_background(40)  # one filler at a time: this one does nothing
    numbers = public_key.encrypt_many([2.5] * 10)  # whatever is ready, the rest on the spot
    background = public_key._background
    assert background is not None
    background.join()
    assert 30 <= public_key.precomputed <= 40
    numbers += public_key.encrypt_many([2.5] * public_key.precomputed)
    assert len({n.ciphertext for n in numbers}) == len(numbers)
    assert set(keys[1].decrypt_many(numbers)) == {2.5}
    public_key.fill_in_background(0)  # full enough: nothing to do
    assert public_key._background is background


def test_copies_do_not_share_the_pool(public_key: PublicKey) -> None:
    public_key.precompute(3)
    for duplicate in (
        copy.copy(public_key),
        copy.deepcopy(public_key),
        pickle.loads(pickle.dumps(public_key)),
    ):
        assert duplicate == public_key and duplicate.precomputed == 0
        assert duplicate.hs == public_key.hs


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_drops_the_pool_it_inherited(public_key: PublicKey) -> None:
    public_key.precompute(3)
    ready = public_key.precomputed
    pid = os.fork()
    if pid == 0:  # the child: exit at once, with the verdict as status
        os._exit(0 if public_key.precomputed == 0 else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert public_key.precomputed == ready


# --- python-paillier interoperability ---------------------------------------------------------


@pytest.mark.parametrize("value", [*FLOATS[:-2], *INTS[:-1]])
def test_encoding_matches_python_paillier(
    public_key: PublicKey,
    phe_keys: tuple[phe.PaillierPublicKey, phe.PaillierPrivateKey],
    value: float,
) -> None:
    theirs = phe.EncodedNumber.encode(phe_keys[0], value)
    ours = public_key.encrypt(value)
    assert ours.exponent == theirs.exponent
    assert (
        phe_keys[1].decrypt(phe.EncryptedNumber(phe_keys[0], ours.ciphertext, ours.exponent))
        == value
    )


def test_python_paillier_ciphertexts_decrypt_with_our_key(
    public_key: PublicKey,
    private_key: PrivateKey,
    phe_keys: tuple[phe.PaillierPublicKey, phe.PaillierPrivateKey],
) -> None:
    their_public, their_private = phe_keys
    for value in [0.5, -3, 1e-12, 98765.4321]:
        theirs = their_public.encrypt(value)
        ours = EncryptedNumber(public_key, theirs.ciphertext(), theirs.exponent)
        assert private_key.decrypt(ours) == value
        # An operation in either library decrypts in the other.
        assert private_key.decrypt(ours * 3.5 + 1) == their_private.decrypt(theirs * 3.5 + 1)
        product = ours * -0.125
        assert (
            their_private.decrypt(
                phe.EncryptedNumber(their_public, product.ciphertext, product.exponent)
            )
            == value * -0.125
        )


# --- raw integer ciphertexts ------------------------------------------------------------------


def test_raw_integers_round_trip_signed(public_key: PublicKey, private_key: PrivateKey) -> None:
    values = [0, 1, -1, 2**200, -(2**300), public_key.max_int, -public_key.max_int]
    assert private_key.decrypt_ints(public_key.encrypt_ints(values)) == values


def test_sums_by_group_match_the_plaintext_sums(
    public_key: PublicKey, private_key: PrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(1)
    values = rng.integers(-1000, 1000, size=40).tolist()
    groups = rng.integers(0, 5, size=(40, 3)) + np.arange(3) * 5
    ciphertexts = public_key.encrypt_ints(values)
    expected = [
        sum(v for v, row in zip(values, groups.tolist(), strict=True) if g in row)
        for g in range(15)
    ]
    alone = paillier.sum_by_groups(public_key, ciphertexts, groups, 15, processes=1)
    assert private_key.decrypt_ints(alone) == expected
    monkeypatch.setattr(paillier, "FORK_MINIMUM", 0)  # forked workers, one per column
    shared = paillier.sum_by_groups(public_key, ciphertexts, groups, 15, processes=3)
    assert private_key.decrypt_ints(shared) == expected


def test_packed_values_unpack_signed(public_key: PublicKey, private_key: PrivateKey) -> None:
    width = 40
    values = [2**38, -(2**38), 0, -1, 12345] * 7  # more than one plaintext's worth
    packed = paillier.pack(public_key, public_key.encrypt_ints(values), width)
    per = paillier.slots(public_key, width)
    assert len(packed) == -(-len(values) // per)
    plain = private_key.decrypt_ints(public_key.rerandomize(packed))
    unpacked = [
        v
        for j, p in enumerate(plain)
        for v in paillier.unpack(p, width, min(per, len(values) - j * per))
    ]
    assert unpacked == values


def test_ciphertext_rows_round_trip_and_refuse_garbage(public_key: PublicKey) -> None:
    ciphertexts = public_key.encrypt_ints([1, 2, 3])
    rows = paillier.to_rows(public_key, ciphertexts)
    assert rows.dtype == np.uint8 and rows.shape == (3, (public_key.nsquare.bit_length() + 7) // 8)
    assert paillier.from_rows(public_key, rows) == ciphertexts
    with pytest.raises(InvalidArgument):
        paillier.from_rows(public_key, np.zeros((2, rows.shape[1]), np.uint8))  # 0 is not one
    with pytest.raises(InvalidArgument):
        paillier.from_rows(public_key, rows.astype(np.int16))
