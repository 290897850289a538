"""The Indonesian stemmer: the forms of one word meet at one stem; roots stay whole."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loket.tickets.stemmer_id import ROOTS, stem, stems


@pytest.mark.parametrize(
    ("word", "root"),
    [
        # kirim: the example customers write every day.
        ("kirim", "kirim"),
        ("kiriman", "kirim"),
        ("kirimannya", "kirim"),
        ("dikirim", "kirim"),
        ("dikirimkan", "kirim"),
        ("terkirim", "kirim"),
        ("mengirim", "kirim"),
        ("mengirimkan", "kirim"),
        ("pengirim", "kirim"),
        ("pengiriman", "kirim"),
        ("pengirimannya", "kirim"),
        # meN-/peN- change the root's first sound.
        ("membeli", "beli"),
        ("pembelian", "beli"),
        ("memesan", "pesan"),
        ("pemesanan", "pesan"),
        ("menulis", "tulis"),
        ("menunggu", "tunggu"),
        ("menyimpan", "simpan"),
        ("mengambil", "ambil"),
        ("menerima", "terima"),
        ("penerima", "terima"),
        ("menggunakan", "guna"),
        ("menghubungi", "hubung"),
        ("pembayaran", "bayar"),
        ("mengembalikan", "kembali"),
        ("pengembalian", "kembali"),
        ("memakai", "pakai"),
        ("memasak", "masak"),
        ("mengecek", "cek"),
        # ber-, ter-, di-, ke-...-an, per-, several prefixes at once.
        ("berhasil", "hasil"),
        ("bekerja", "kerja"),
        ("belajar", "ajar"),
        ("terlambat", "lambat"),
        ("keterlambatan", "lambat"),
        ("kerusakan", "rusak"),
        ("dibatalkan", "batal"),
        ("pembatalan", "batal"),
        ("perbaikan", "baik"),
        ("diperbaiki", "baik"),
        ("pertanyaan", "tanya"),
        ("menanyakan", "tanya"),
        ("ditanyakan", "tanya"),
        ("keuangan", "uang"),
        ("perusahaan", "usaha"),
        # Suffixes, particles and possessives.
        ("pesanan", "pesan"),
        ("pesanannya", "pesan"),
        ("barangnya", "barang"),
        ("bukuku", "buku"),
        ("tolonglah", "tolong"),
        ("apakah", "apa"),
        ("bisakah", "bisa"),
        ("tagihan", "tagih"),
        ("ukuran", "ukur"),
        ("transferan", "transfer"),
        ("ditransfer", "transfer"),
        # Words that look affixed but are roots stay whole.
        ("masalah", "masalah"),
        ("masalahnya", "masalah"),
        ("sekolah", "sekolah"),
        ("pesan", "pesan"),
        ("diskon", "diskon"),
        ("terima", "terima"),
        ("berapa", "berapa"),
        ("dengan", "dengan"),
        ("jalan", "jalan"),
        ("teman", "teman"),
        ("bulan", "bulan"),
        ("makan", "makan"),
        ("makanan", "makan"),
        ("dimakan", "makan"),
        ("tanya", "tanya"),
        ("hanya", "hanya"),
        ("perintah", "perintah"),
        ("langkah", "langkah"),
        ("pelanggan", "langgan"),
        ("informasi", "informasi"),
        ("konfirmasi", "konfirmasi"),
        ("kecil", "kecil"),
        ("sepatu", "sepatu"),
        ("menit", "menit"),
    ],
)
def test_known_words(word: str, root: str) -> None:
    assert stems(word) == (root,)


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        # Roots the list does not know: the rules alone, and only what they are sure of.
        ("dijahitkan", ("jahit",)),  # di-...-kan
        ("dicolek", ("colek",)),
        ("mencolek", ("colek",)),
        ("ditekan", ("tekan",)),
        ("tekan", ("tekan",)),  # not te- + -kan: too little would be left
        ("pagi", ("pagi",)),  # a bare -i stays
        ("hati", ("hati",)),
        ("sayur", ("sayur",)),
        ("kecap", ("kecap",)),  # ke- only comes off with -an
        ("kebersihan", ("bersih",)),
        # A nasal prefix before a vowel hides the root's first letter: both readings.
        ("mengukir", ("kukir", "ukir")),
        ("menyisir", ("sisir", "nyisir")),
    ],
)
def test_unknown_roots_by_rules(word: str, expected: tuple[str, ...]) -> None:
    assert stems(word) == expected


@pytest.mark.parametrize("word", ["dan", "di", "ke", "2024", "abc123", "x", "", "ok"])
def test_short_words_and_numbers_are_left_alone(word: str) -> None:
    assert stems(word) == (word,)


def test_every_known_root_is_its_own_stem() -> None:
    assert all(stems(root) == (root,) for root in ROOTS)


def test_stem_is_the_first_reading() -> None:
    assert stem("pengiriman") == "kirim"
    assert stem("mengukir") == "kukir"


@given(st.text(alphabet="abcdeghijklmnoprstuwy", max_size=20))
def test_any_word_gives_stems_no_longer_than_it(word: str) -> None:
    found = stems(word)
    assert found
    assert all(len(s) <= len(word) for s in found)
    # A stem is the word itself or a root-sized rest (three letters or more).
    assert all(s == word or len(s) >= 3 for s in found)
