import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync_protocol.errors import FieldCryptError
from sync_protocol.fieldcrypt import FieldCipher, generate_data_key, normalise_lookup_value

KEY = bytes(range(32))


def test_encrypt_then_decrypt_returns_the_value():
    cipher = FieldCipher(KEY)
    blob = cipher.encrypt("11010519491231002X", "applicant.id_number")
    assert cipher.decrypt(blob, "applicant.id_number") == "11010519491231002X"


def test_ciphertext_does_not_contain_the_plaintext_and_nonce_is_fresh():
    cipher = FieldCipher(KEY)
    first = cipher.encrypt("11010519491231002X", "c")
    second = cipher.encrypt("11010519491231002X", "c")
    assert b"11010519491231002X" not in first
    assert first != second


def test_decrypt_under_another_context_fails():
    cipher = FieldCipher(KEY)
    blob = cipher.encrypt("secret", "applicant.id_number")
    with pytest.raises(FieldCryptError):
        cipher.decrypt(blob, "applicant.phone")


def test_decrypt_with_another_key_fails():
    blob = FieldCipher(KEY).encrypt("secret", "c")
    with pytest.raises(FieldCryptError):
        FieldCipher(generate_data_key()).decrypt(blob, "c")


@pytest.mark.parametrize("position", [0, 1, 13, -1])
def test_any_flipped_byte_fails_closed(position):
    cipher = FieldCipher(KEY)
    blob = bytearray(cipher.encrypt("secret", "c"))
    blob[position] ^= 0x01
    with pytest.raises(FieldCryptError):
        cipher.decrypt(bytes(blob), "c")


def test_truncated_ciphertext_fails_closed():
    cipher = FieldCipher(KEY)
    with pytest.raises(FieldCryptError):
        cipher.decrypt(cipher.encrypt("secret", "c")[:20], "c")


@pytest.mark.parametrize("bad_key", [b"", b"x" * 31, b"x" * 33])
def test_data_key_must_be_32_bytes(bad_key):
    with pytest.raises(FieldCryptError):
        FieldCipher(bad_key)


def test_empty_context_is_refused():
    with pytest.raises(FieldCryptError):
        FieldCipher(KEY).encrypt("x", "")


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("11010519491231002x", "11010519491231002X"),
        (" 11010519491231002X ", "11010519491231002X"),
        ("１１０１０５１９４９１２３１００２Ｘ", "11010519491231002X"),
        ("110105 19491231 002X", "11010519491231002X"),
    ],
)
def test_lookup_hash_matches_values_typed_differently(typed, stored):
    cipher = FieldCipher(KEY)
    assert cipher.lookup_hash(typed, "id") == cipher.lookup_hash(stored, "id")


def test_lookup_hash_is_keyed_and_separated_by_context():
    cipher = FieldCipher(KEY)
    value = "11010519491231002X"
    assert cipher.lookup_hash(value, "id") != FieldCipher(generate_data_key()).lookup_hash(value, "id")
    assert cipher.lookup_hash(value, "id") != cipher.lookup_hash(value, "phone")
    assert len(cipher.lookup_hash(value, "id")) == 64


def test_lookup_hash_is_deterministic_across_instances():
    assert FieldCipher(KEY).lookup_hash("abc", "c") == FieldCipher(KEY).lookup_hash("abc", "c")


def test_normalise_lookup_value():
    assert normalise_lookup_value("  Ａb c\t") == "abc"


@given(st.text(max_size=200), st.text(min_size=1, max_size=30))
def test_round_trip_any_text(value, context):
    cipher = FieldCipher(KEY)
    assert cipher.decrypt(cipher.encrypt(value, context), context) == value
