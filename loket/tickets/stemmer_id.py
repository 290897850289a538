"""A small, conservative Indonesian stemmer for search.

It follows the shape of Nazief & Adriani's algorithm (particles, then possessives, then
derivational suffixes; then up to three prefixes with the meN-/peN- sound changes), with one
twist: instead of a full dictionary it carries a short list of common roots.

- A word that is itself a known root is never cut (``masalah`` is not ``masa`` + ``-lah``,
  ``pesan`` is not ``pes`` + ``-an``).
- A known root reached by removing affixes wins (``pengiriman`` -> ``kirim``,
  ``membeli`` -> ``beli``, ``pemesanan`` -> ``pesan``).
- Otherwise the rules alone decide, more cautiously: ``-i`` and ``ke-``/``se-`` only come off
  together with other affixes, a bare ``-an``/``-kan`` only when four letters remain, and where a
  nasal prefix hides the first letter of the root (``mengambil``/``mengirim``) both readings are
  returned.

The input must already be folded (lower case, no diacritics) as ``search.fold`` does; words
shorter than four letters or containing digits are returned unchanged. Stems are an index
vocabulary, not a dictionary: the same function is applied to the indexed text and to the
query, so a stem only has to be the same for the forms of one word.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

VOWELS = frozenset("aeiou")
MIN_ROOT = 3
_MAX_PREFIXES = 3

PARTICLES = ("lah", "kah", "tah", "pun")
POSSESSIVES = ("nya", "ku", "mu")

# Prefix and suffix pairs that do not occur together (Nazief & Adriani).
_DISALLOWED = frozenset(
    {
        ("be", "i"),
        ("di", "an"),
        ("ke", "i"),
        ("ke", "kan"),
        ("me", "an"),
        ("se", "i"),
        ("se", "kan"),
        ("te", "an"),
    }
)

# Common roots: words that look affixed but are not (masalah, pesan, terima, diskon, ...), and
# roots that decide between the two readings of a nasal prefix (ambil/kambil, kirim/irim).
_ROOT_LIST = """
    ada adik agak air ajak ajar akan akhir aku akun alam alamat alas alat aman ambil amplop
    anak ancam angka angkat angkut antar antre antri anggap apa asal asli atas atur awal
    awas ayah
    badan bagai bagi bahan bahas baik baju bakar balas balik banding bangun bank bantu banyak
    barang baru batal batas bawa bayar bebas beda bekas beli benar bengkel bentuk berangkat
    beras berapa berat beri berita bersih besar betul biasa biaya bicara bikin bila bilang
    bisa bocor boleh bonus buat bukan buka buku bulan bungkus buruk butuh
    cabang cair cakap cantik cari catat cek cepat cerita cetak cicil coba cocok contoh cuci
    cukup
    daftar dagang dahulu dalam dapat dapur darat datang dengan dengar depan desa diam diri
    dingin dinding diskon dompet dua duga dukung
    edar ekspedisi email emas enak ganti garansi gagal gambar ganggu gaji gampang gudang
    guna
    hadap hadiah hal halaman hambat hampir hangat hanya harap harga hari harus hasil hati
    hemat hendak hidup hilang hitung hubung hujan hutang
    ikat ikut ilmu impor ingat ingin inap informasi isi istilah izin
    jadi jahit jalan jalur jamin janji jawab jelas jemput jenis jual juga jumlah jumpa
    kabar kain kalah kalau kali kami kamu kantor kapan karena kardus kartu kasih kata kecewa
    keluar keluh kemarin kemas kembali kena kenal kenapa kendala kepada keras kering kerja
    kertas khusus kira kirim kota kuat kurang kurir
    laku lalu lama lambat lancar langganan langsung lanjut lapor lebih lemah lengkap lepas
    lewat lihat lipat lupa luar lunas
    maaf mahal main makan maksud malam mampu mana mandi mari marah masa masak masalah masih
    masuk mati mau merah merek meja mereka milik minggu minta minum mohon motor mudah mulai
    murah
    nanti nama negara nikah nilai nomor
    obat olah ongkir orang pagi pajak pakai paket paling panas panggil panjang pantas pasang
    pasti pecah pegang peluk penuh perak perintah periksa perlu pernah persen pertama perut
    pesan pesawat pikir pilih pindah pinjam pintu pos potong proses pukul pulang punya putus
    rahasia ragu rapi rasa rekening rencana resi retur ribu rumah rusak
    saat sabar sakit salah saldo salin sama sambung sampai sampel sangat sapa saran satu
    sayang sebab sedang sedia sehat sekali sekarang sekolah selalu selesai semua sempat
    senang sendiri siap sibuk sikap simpan sisa sobek sopan status stok suka sulit sumber
    supaya surat susah susu
    tabung tagih tahan tahu tahun tali tambah tampil tanda tanggal tanggap tanggung tangan
    tanya tarik tawar telat telepon teliti teman temu tempat tentu tepat terang terima
    terus tetap tiba tidak tiket tinggal tipis toko tolong tuju tukar tulis tunggu tunjuk
    turun tutup
    uang ubah ukur ulang ulas umum unggah untuk untung urus usaha
    waktu warna wilayah
    bekal bela belakang belanja belum benang benda bengkak bensin besok desain detik dinas
    direktur distributor ikan istri kanan kecil kedai kelas keluarga kemeja kepala keranjang
    ketik ketua lawan langgan langkah lelah media member memang mendung menit mesin meter
    mewah nyanyi padan papan pedas pelan pena penting pergi pesta peta rumpun saku sedikit
    segar segera sejak sekitar selamat selasa selisih semangat sempit sendok senin sepatu
    sepeda seperti serius setuju sewa taman tamu tanah tanpa tebal tegas teh teknik teknisi
    telah telur tema tempel tenang tenda tengah tentang tepung terbang terbit teras ternak
    tetapi zaman
"""
ROOTS = frozenset(_ROOT_LIST.split())


def _valid(root: str) -> bool:
    return len(root) >= MIN_ROOT and any(c in VOWELS for c in root)


def _suffix_forms(word: str) -> list[tuple[str, str]]:
    """``(form, derivational suffix removed)``, the word itself first, more stripped after."""
    forms = [(word, "")]
    base = word
    for particle in PARTICLES:
        if base.endswith(particle) and _valid(base[: -len(particle)]):
            base = base[: -len(particle)]
            forms.append((base, ""))
            break
    for possessive in POSSESSIVES:
        if base.endswith(possessive) and _valid(base[: -len(possessive)]):
            base = base[: -len(possessive)]
            forms.append((base, ""))
            break
    if base.endswith("kan") and _valid(base[:-3]):
        forms.append((base[:-3], "kan"))
    if base.endswith("an") and _valid(base[:-2]):
        forms.append((base[:-2], "an"))
    # Loanwords end in -si (informasi, koreksi): that -i is part of the root.
    if base.endswith("i") and not base.endswith("si") and _valid(base[:-1]):
        forms.append((base[:-1], "i"))
    return forms


# After meN-/peN-: how the nasal is spelled, the root's first letter it may have replaced
# before a vowel, and the consonants it stands before unchanged.
_NASALS = (
    ("ng", ("k", ""), "ghkq"),  # mengirim: kirim; mengambil: ambil; menghubungi
    ("ny", ("s", "ny"), ""),  # menyimpan: simpan; menyanyi: nyanyi
    ("m", ("p", "m"), "bfvp"),  # memakai: pakai; memasak: masak; membeli, memproses
    ("n", ("t", "n"), "cdjstz"),  # menulis: tulis; menikah: nikah; mencari, mentransfer
)


def _nasal_steps(form: str, nasal: str) -> Iterator[tuple[str, tuple[str, ...]]]:
    after = form[2:]
    for spelled, restored, consonants in _NASALS:
        if not after.startswith(spelled):
            continue
        rest = after[len(spelled) :]
        if spelled == "ng" and rest.startswith("e") and len(form) <= 8:
            yield nasal, (rest[1:],)  # mengecek: cek (one-syllable roots)
        if rest[:1] in VOWELS:
            yield nasal, tuple(first + rest for first in restored)
        elif rest and rest[0] in consonants:
            yield nasal, (rest,)
        return
    if after and (after[0] in "lrwy" or (nasal == "pe" and after[0] not in VOWELS)):
        yield nasal, (after,)  # melihat, merasa, mewarnai; pedagang, petani


def _prefix_steps(form: str) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Each prefix ``form`` may start with, and the alternative remainders it leaves."""
    for prefix in ("di", "ke", "se"):
        if form.startswith(prefix):
            yield prefix, (form[2:],)
    rest = form[3:]
    for short, long in (("be", "ber"), ("te", "ter"), ("pe", "per")):
        if form.startswith(long) and rest:
            # berangkat: ber-angkat or be-rangkat; terasa: ter-asa or te-rasa.
            yield short, (rest, "r" + rest) if rest[0] in VOWELS else (rest,)
    if form.startswith(("belajar", "pelajar")):
        yield form[:2], (rest,)  # bel-ajar
    if form.startswith(("be", "pe")) and form[3:5] == "er":
        # bekerja: be-kerja, pekerja: pe-kerja (the prefix loses its r before -er-).
        yield form[:2], (form[2:],)
    for nasal in ("me", "pe"):
        if form.startswith(nasal):
            yield from _nasal_steps(form, nasal)


def _unprefix(form: str, depth: int = 0) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Every way to strip up to three prefixes: ``(outer prefix, remainders)``.

    Nested prefixes keep the outermost one for the prefix/suffix check (di-per-baik-i).
    """
    if depth >= _MAX_PREFIXES:
        return
    for prefix, remainders in _prefix_steps(form):
        valid = tuple(r for r in remainders if _valid(r))
        if not valid:
            continue
        yield prefix, valid
        for remainder in valid:
            for _inner, deeper in _unprefix(remainder, depth + 1):
                yield prefix, deeper


def _strip_greedy(form: str, suffix: str, depth: int = 0) -> tuple[str, ...] | None:
    """The rules' reading of ``form``'s prefixes, or None when none applies.

    The first rule that leaves a root-sized rest is taken, then inner prefixes the same way
    (di-per-baik). ``ke-``/``se-`` start too many roots (kecil, sepatu) to be cut on their own:
    only the confix ke-...-an is.
    """
    if depth >= _MAX_PREFIXES:
        return None
    for prefix, remainders in _prefix_steps(form):
        if prefix in {"ke", "se"} and (depth > 0 or suffix != "an"):
            continue
        if depth == 0 and (prefix, suffix) in _DISALLOWED:
            continue
        valid = [r for r in remainders if _valid(r)]
        if not valid:
            continue
        out: list[str] = []
        for remainder in valid:
            out.extend(_strip_greedy(remainder, suffix, depth + 1) or (remainder,))
        return tuple(dict.fromkeys(out))
    return None


@lru_cache(maxsize=65536)
def stems(word: str) -> tuple[str, ...]:
    """The stem of one folded word; two or three when a nasal prefix hides the root's start."""
    if len(word) < 4 or not word.isalpha() or word in ROOTS:
        return (word,)
    forms = _suffix_forms(word)
    # 1. A known root: the word with suffixes removed, least stripped first (masalahnya ->
    #    masalah, never masa) ...
    for form, _suffix in forms:
        if form in ROOTS:
            return (form,)
    # 2. ... or with prefixes removed too, most stripped first (membeli: bel? no; beli).
    for form, suffix in reversed(forms):
        for prefix, remainders in _unprefix(form):
            if (prefix, suffix) in _DISALLOWED:
                continue
            for remainder in remainders:
                if remainder in ROOTS:
                    return (remainder,)
    return _by_rules(word, forms)


def _by_rules(word: str, forms: list[tuple[str, str]]) -> tuple[str, ...]:
    """No known root in sight: what the rules are sure about, most stripped first."""
    for form, suffix in reversed(forms):
        reading = _strip_greedy(form, suffix)
        if reading is not None:
            return reading
        if form == word:
            break
        if suffix == "i":
            continue  # a bare -i: too many roots end in i (pagi, nanti, hati)
        if suffix in {"an", "kan"} and len(form) < 4:
            continue  # jalan, teman, bukan
        if any(p not in {"ke", "se"} for p, _ in _prefix_steps(form)):
            continue  # looks prefixed, yet no root is left (berte-mu): cut less
        return (form,)
    return (word,)


def stem(word: str) -> str:
    """The first stem of ``word`` (see ``stems``)."""
    return stems(word)[0]
