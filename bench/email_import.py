"""Email import benchmark (issue 5), part of ``make bench``.

    .venv/bin/python bench/email_import.py [--mails 2000] [--pipe 30] [--postgres URL]
        [--no-postgres] [--profile] [--quick]

Generates (seeded, so every run makes the same bytes) a mixed set of Indonesian customer mails
with Python's email library: about 40% plain text, 25% HTML with a plain alternative, 15% with
attachments (PDF-like and PNG bytes, some with non-ASCII file names), 20% replies that thread to
earlier mails of the set by In-Reply-To and References (some by References alone); about 300
customers; utf-8, iso-8859-1 and us-ascii, in 8bit, quoted-printable and base64. Then, on a fresh
database with one email channel, it runs the real command:

1. one process, many files: ``loket email import --channel ADDR FILE...`` over the whole set
   (a backlog, a maildir): mails per second from the process start to its exit;
2. the MTA pipe: ``loket email import --channel ADDR < FILE``, one process per mail, as
   Postfix's ``|command`` alias runs it, over ``--pipe`` further mails of the set: mails per
   second and what starting a process costs;
3. checks: every delivery processed, none failed, one inbound message per mail, the attachments
   stored under their names, every reply in its parent's ticket, and the tickets exactly as
   email threading makes them (a mail naming a stored Message-ID joins that ticket; a new mail
   from a customer opens one, unless that customer's ticket has the same subject).

SQLite always (a temporary data directory); PostgreSQL too when ``--postgres URL`` is given or
the loopback server answers (database ``loket_bench_email``, made afresh and dropped after).
``--profile`` instead runs step 1 on a fresh SQLite database under cProfile and prints the
hotspots (docs untouched). Results are printed and written to docs/benchmarks.md (section
"email").
"""

from __future__ import annotations

import argparse
import html
import os
import platform
import random
import resource
import shutil
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

CHANNEL_ADDRESS = "cs@batiksari.id"
CHANNEL_NAME = "CS Batik Sari"
CUSTOMERS = 300
SEED = 5
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/loket_bench_email"
WIB = timezone(timedelta(hours=7))
START = datetime(2026, 11, 2, 7, 30, tzinfo=WIB)

# --- Indonesian content -------------------------------------------------------------------------
FIRST = [
    "Siti", "Dewi", "Budi", "Agus", "Rina", "Ahmad", "Putri", "Rizky", "Wahyu", "Indah",
    "Fajar", "Nur", "Yuni", "Hendra", "Sri", "Bayu", "Lestari", "Eko", "Ratna", "Dimas",
    "Ayu", "Joko", "Fitri", "Arif", "Maya", "Teguh", "Wulan", "Andi", "Kartika", "Yoga",
    "Citra", "Gilang", "Novi", "Irfan", "Anisa", "Rudi", "Mega", "Hadi", "Sari", "Taufik",
]  # fmt: skip
LAST = [
    "Pratama", "Saputra", "Wijaya", "Lestari", "Hidayat", "Nugroho", "Kusuma", "Santoso",
    "Siregar", "Nasution", "Simanjuntak", "Hasibuan", "Purnomo", "Setiawan", "Rahmawati",
    "Handayani", "Susanto", "Gunawan", "Halim", "Tanjung", "Permana", "Firmansyah",
]  # fmt: skip
# Latin-1 names: these customers' clients write iso-8859-1.
ACCENTED = ["Renée", "José", "Andréas", "Chloé", "Zoë", "Matthäus", "Inês", "Noël"]
DOMAINS = [
    ("gmail.com", 50), ("yahoo.co.id", 14), ("yahoo.com", 6), ("outlook.com", 8),
    ("hotmail.com", 5), ("ymail.com", 3), ("telkom.net.id", 3), ("ui.ac.id", 2),
    ("majujaya.co.id", 4), ("sinarabadi.com", 3), ("kantorpos.id", 2),
]  # fmt: skip
KOTA = [
    "Surabaya", "Bandung", "Medan", "Makassar", "Semarang", "Palembang", "Denpasar",
    "Yogyakarta", "Balikpapan", "Pontianak", "Manado", "Padang", "Malang", "Bekasi",
]  # fmt: skip
PRODUK = [
    "batik tulis parang", "kemeja batik mega mendung", "kain songket palembang",
    "daster batik pekalongan", "tas anyaman rotan", "selendang tenun ikat",
    "sarung tenun samarinda", "kebaya encim", "blus batik cap", "outer lurik",
]  # fmt: skip
WARNA = ["merah marun", "biru dongker", "hijau botol", "cokelat sogan", "hitam", "krem"]
UKURAN = ["S", "M", "L", "XL", "XXL", "all size"]
KURIR = ["JNE", "J&T", "SiCepat", "AnterAja", "Pos Indonesia", "Ninja Xpress"]

SUBJECTS: dict[str, list[str]] = {
    "pesanan": [
        "Pesanan {inv} belum sampai",
        "Status pesanan {inv}",
        "Kapan pesanan {inv} dikirim?",
    ],
    "ongkir": ["Tanya ongkir ke {kota}", "Ongkos kirim {produk} ke {kota}"],
    "retur": ["Retur {produk} ukuran {ukuran}", "Salah kirim ukuran \u2013 {inv}"],
    "pembayaran": [
        "Konfirmasi pembayaran {inv}",
        "Mohon bantuan: pembayaran gagal 🙏",
        "Sudah transfer untuk {inv}",
    ],
    "rusak": ["Barang rusak: {produk}", "Komplain kemasan sobek {inv}"],
    "stok": ["Stok {produk} warna {warna}?", "Ready {produk} ukuran {ukuran}?"],
    "refund": ["Refund pesanan {inv}", "Pengembalian dana {inv} belum masuk"],
    "alamat": ["Ganti alamat pengiriman {inv}", "Alamat salah di pesanan {inv}"],
    "resi": ["Resi {kurir} tidak bisa dilacak", "Nomor resi {inv} tidak valid"],
    "grosir": ["Pesan grosir {produk} ({jumlah} pcs)", "Harga reseller {produk}"],
}
BODIES: dict[str, list[str]] = {
    "pesanan": [
        "Saya pesan {produk} tanggal {tgl} dengan nomor {inv}, tapi sampai hari ini belum "
        "sampai juga.",
        'Di aplikasi statusnya masih "dikemas" sejak {hari} hari yang lalu.',
        "Mohon dicek kak, pesanan {inv} atas nama saya sudah dibayar lunas.",
        "Apakah pesanan saya bisa dikirim hari ini? Saya butuh untuk acara hari Sabtu.",
    ],
    "ongkir": [
        "Berapa ongkos kirim {produk} {jumlah} pcs ke {kota}?",
        "Kalau pakai {kurir} reguler kira-kira berapa hari sampai {kota}?",
        "Apakah ada gratis ongkir untuk pembelian di atas Rp 300.000?",
        "Saya di {kota}, bisa kirim pakai kargo supaya lebih murah?",
    ],
    "retur": [
        "{produk} yang saya terima ukurannya kekecilan, saya mau tukar ke ukuran {ukuran}.",
        "Yang datang warnanya {warna}, padahal saya pesan yang lain.",
        "Bagaimana prosedur retur? Apakah ongkir retur ditanggung toko?",
        "Label dan plastiknya masih utuh, belum saya pakai sama sekali.",
    ],
    "pembayaran": [
        "Saya sudah transfer Rp {harga} ke rekening BCA toko untuk pesanan {inv}.",
        'Pembayaran lewat virtual account gagal terus, muncul tulisan "transaksi ditolak".',
        "Saldo saya sudah terpotong tapi status pesanan masih menunggu pembayaran.",
        "Bisa bayar pakai QRIS atau COD?",
    ],
    "rusak": [
        "Paket saya terima tadi siang dan kemasannya sobek, {produk} di dalamnya kotor.",
        "Ada jahitan yang lepas di bagian lengan, fotonya saya lampirkan.",
        "Saya minta diganti barang baru atau uang kembali.",
        "Kurir {kurir} bilang paketnya memang sudah rusak waktu diterima dari gudang.",
    ],
    "stok": [
        "Apakah {produk} warna {warna} ukuran {ukuran} masih ada?",
        "Kapan restock {produk}? Saya mau ambil {jumlah} pcs.",
        "Motifnya sama persis dengan yang di foto katalog atau beda?",
        "Bahannya katun primisima atau katun biasa kak?",
    ],
    "refund": [
        "Pesanan {inv} saya batalkan tanggal {tgl} tapi dananya belum kembali.",
        "Katanya refund 3x24 jam, sekarang sudah {hari} hari.",
        "Tolong dikembalikan ke rekening Mandiri atas nama saya saja.",
        "Nominal yang masuk kurang Rp 15.000 dari yang saya bayar.",
    ],
    "alamat": [
        "Saya salah tulis alamat, harusnya Jl. Melati No. {no}, {kota}.",
        "Mohon diganti alamatnya sebelum paket dikirim ya kak.",
        "Kode posnya juga salah, yang benar {kodepos}.",
        "Kalau sudah terlanjur dikirim, bisa dialihkan lewat {kurir}?",
    ],
    "resi": [
        "Nomor resi {resi} tidak ditemukan di website {kurir}.",
        'Sudah {hari} hari statusnya tidak berubah dari "manifest".',
        "Apakah resinya benar? Tolong dicek ulang.",
        "Kurirnya tidak bisa dihubungi, nomor HP-nya tidak aktif.",
    ],
    "grosir": [
        "Saya punya toko di {kota}, mau ambil {produk} {jumlah} pcs untuk dijual lagi.",
        "Apakah ada harga khusus reseller dan minimal ordernya berapa?",
        "Bisa minta katalog lengkap dalam bentuk PDF?",
        "Pembayaran bisa termin 2 kali? DP 50% dulu.",
    ],
}
REPLIES = [
    "Terima kasih kak atas jawabannya.",
    "Sampai sekarang paketnya belum datang juga, mohon dibantu lagi.",
    "Sudah saya transfer tadi pagi, buktinya saya lampirkan.",
    "Baik kak, saya tunggu kabarnya.",
    "Resinya masih belum bisa dilacak di website {kurir}.",
    "Kok belum ada balasan ya kak? Sudah {hari} hari.",
    "Oke, jadi saya kirim balik barangnya ke alamat gudang yang mana?",
    "Barangnya sudah sampai dengan baik, terima kasih banyak!",
    "Mohon info nomor rekening untuk pelunasannya.",
    "Kalau begitu saya pilih refund saja.",
    "Ukuran {ukuran} masih ada kan kak? Saya tukar ke situ.",
    "Maaf baru balas, saya baru pulang kerja.",
]
GREETINGS = [
    "Halo kak,", "Selamat pagi Admin,", "Siang min,", "Dengan hormat,", "Permisi kak,",
    "Assalamualaikum,", "Selamat sore,", "Halo Batik Sari,",
]  # fmt: skip
CLOSINGS = [
    "Terima kasih.", "Mohon segera dibantu ya kak.", "Ditunggu kabarnya.",
    "Makasih banyak min 🙏", "Salam hangat.", "Terima kasih atas bantuannya.",
]  # fmt: skip
SIGNATURES = [
    "Salam,\n{name}",
    "{name}\n{phone}",
    "{name}\n\n--\nDikirim dari Yahoo Mail di Android",
    "{name}\n\nSent from my iPhone",
    "Hormat saya,\n{name}\n{kota}",
]
ATTACHMENT_NAMES = [
    ("bukti_transfer_{inv_short}.pdf", "application", "pdf"),
    ("foto_barang_rusak.png", "image", "png"),
    ("Bukti Pembayaran \u2013 {name}.pdf", "application", "pdf"),  # non-ASCII (en dash)
    ("foto kemasan (sobek) ✓.png", "image", "png"),  # non-ASCII
    ("faktur_{inv_short}.pdf", "application", "pdf"),
    ("Surat Pernyataan Retur \u2013 Ibu {first}.pdf", "application", "pdf"),  # non-ASCII
    ("IMG_{no}.png", "image", "png"),
    ("résumé_pesanan.pdf", "application", "pdf"),  # non-ASCII
]


# --- the generated set ------------------------------------------------------------------------
@dataclass
class Customer:
    name: str
    first: str
    address: str
    domain: str
    phone: str
    latin1: bool
    orders: list[str]  # the invoice numbers a customer writes about


@dataclass
class Mail:
    index: int
    kind: str  # plain | html | attachment | reply
    customer: int
    message_id: str  # without angle brackets
    subject: str
    root_subject: str
    parent: int | None = None  # index of the mail a reply answers
    in_reply_to: bool = True  # False: References only
    attachments: list[str] = field(default_factory=list)
    charset: str = "utf-8"
    cte: str = "8bit"
    size: int = 0
    path: Path = Path()


class Generator:
    def __init__(self, seed: int = SEED) -> None:
        self.rng = random.Random(seed)
        self.customers = self._customers()
        # Some customers write more than others (yet none has 20 open tickets: see check()).
        self.weights = [1 / (i + 1) ** 0.2 for i in range(CUSTOMERS)]
        self.rng.shuffle(self.weights)
        self.mails: list[Mail] = []
        self.texts: dict[int, str] = {}  # each mail's text, for the replies that quote it

    def _customers(self) -> list[Customer]:
        rng = self.rng
        out: list[Customer] = []
        seen: set[str] = set()
        domains, weights = zip(*DOMAINS, strict=True)
        while len(out) < CUSTOMERS:
            latin1 = len(out) % 25 == 7  # 12 customers with a Latin-1 name and client
            first = rng.choice(ACCENTED) if latin1 else rng.choice(FIRST)
            last = rng.choice(LAST)
            domain = rng.choices(domains, weights)[0]
            local = rng.choice(
                [
                    f"{first}.{last}",
                    f"{first}{last}{rng.randint(1, 99)}",
                    f"{first}_{rng.randint(1970, 2005)}",
                    f"{first[0]}{last}",
                ]
            )
            local = local.lower().encode("ascii", "ignore").decode()
            address = f"{local}@{domain}"
            if address in seen:
                continue
            seen.add(address)
            phone = f"08{rng.randint(11, 99)}-{rng.randint(1000, 9999)}-{rng.randint(100, 9999)}"
            orders = [f"INV/2026/11/{rng.randint(1, 99999):05d}" for _ in range(rng.randint(1, 4))]
            out.append(Customer(f"{first} {last}", first, address, domain, phone, latin1, orders))
        return out

    # --- words
    def fill(self, template: str, customer: Customer) -> str:
        rng = self.rng
        return template.format(
            inv=rng.choice(customer.orders),
            kota=rng.choice(KOTA),
            produk=rng.choice(PRODUK),
            warna=rng.choice(WARNA),
            ukuran=rng.choice(UKURAN),
            kurir=rng.choice(KURIR),
            jumlah=rng.choice([2, 3, 5, 10, 12, 20, 50]),
            harga=f"{rng.randint(8, 120) * 5000:,}".replace(",", "."),
            tgl=f"{rng.randint(1, 28)} November",
            hari=rng.randint(2, 9),
            no=rng.randint(1, 200),
            kodepos=rng.randint(10110, 99351),
            resi=f"{rng.choice(['JP', 'CGK', 'SCP', 'TLJR'])}{rng.randint(10**9, 10**10 - 1)}",
            name=customer.name,
            first=customer.first,
            phone=customer.phone,
        )

    def body(self, topic: str, customer: Customer) -> str:
        rng = self.rng
        sentences = rng.sample(BODIES[topic], rng.randint(1, 3))
        paragraphs = [
            rng.choice(GREETINGS),
            " ".join(self.fill(s, customer) for s in sentences),
            rng.choice(CLOSINGS),
            self.fill(rng.choice(SIGNATURES), customer),
        ]
        return "\n\n".join(paragraphs) + "\n"

    def reply_body(self, customer: Customer, parent: Mail, parent_text: str) -> str:
        rng = self.rng
        said = " ".join(self.fill(s, customer) for s in rng.sample(REPLIES, rng.randint(1, 2)))
        when = format_datetime(self.date(parent.index))
        quoted = "\n".join("> " + line if line else ">" for line in parent_text.splitlines())
        return (
            f"{said}\n\n{customer.first}\n\n"
            f"Pada {when}, {customer.name} <{customer.address}> menulis:\n{quoted}\n"
        )

    def date(self, index: int) -> datetime:
        return START + timedelta(minutes=index * 7, seconds=(index * 37) % 60)

    def message_id(self, index: int, customer: Customer) -> str:
        rng = self.rng
        if customer.domain == "gmail.com":
            token = "".join(
                rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop0123456789", k=40)
            )
            return f"CA+{token}@mail.gmail.com"
        if customer.domain.startswith(("yahoo", "ymail")):
            return f"{rng.randint(10**8, 10**9)}.{rng.randint(10**6, 10**7)}.{index}@mail.yahoo.com"
        if customer.domain in ("outlook.com", "hotmail.com"):
            host = "SG2PR06MB" + str(rng.randint(1000, 9999))
            return f"{rng.getrandbits(128):032X}@{host}.apcprd06.prod.outlook.com"
        return f"{rng.getrandbits(64):016x}.{index}@mail.{customer.domain}"

    # --- the set
    def generate(self, count: int, out_dir: Path) -> list[Mail]:
        """``count`` more mails, written to ``out_dir`` (indices continue across calls)."""
        rng = self.rng
        kinds = ["plain"] * 40 + ["html"] * 25 + ["attachment"] * 15 + ["reply"] * 20
        texts = self.texts
        made = []
        for _ in range(count):
            index = len(self.mails)
            kind = rng.choice(kinds) if index else "plain"
            if kind == "reply":
                # A customer answers one of their own earlier threads, mostly a recent one.
                parent = self.mails[max(0, index - 1 - int(rng.expovariate(1 / 150)))]
                customer_index = parent.customer
                customer = self.customers[customer_index]
                prefix = rng.choice(["Re: ", "Re: ", "Re: ", "RE: ", "Balas: ", "Re:"])
                mail = Mail(
                    index,
                    kind,
                    customer_index,
                    self.message_id(index, customer),
                    prefix + parent.root_subject,
                    parent.root_subject,
                    parent=parent.index,
                    in_reply_to=rng.random() > 0.15,
                )
                text = self.reply_body(customer, parent, texts[parent.index])
            else:
                customer_index = rng.choices(range(CUSTOMERS), self.weights)[0]
                customer = self.customers[customer_index]
                topic = rng.choice(list(SUBJECTS))
                subject = self.fill(rng.choice(SUBJECTS[topic]), customer)
                mail = Mail(
                    index,
                    kind,
                    customer_index,
                    self.message_id(index, customer),
                    subject,
                    subject,
                )
                text = self.body(topic, customer)
            texts[index] = text
            raw = self.render(mail, customer, text)
            mail.size = len(raw)
            mail.path = out_dir / f"{index:05d}.eml"
            mail.path.write_bytes(raw)
            self.mails.append(mail)
            made.append(mail)
        return made

    def render(self, mail: Mail, customer: Customer, text: str) -> bytes:
        rng = self.rng
        msg = EmailMessage()
        msg["From"] = Address(customer.name, addr_spec=customer.address)
        msg["To"] = Address(CHANNEL_NAME, addr_spec=CHANNEL_ADDRESS)
        msg["Subject"] = mail.subject
        msg["Date"] = format_datetime(self.date(mail.index))
        msg["Message-ID"] = f"<{mail.message_id}>"
        if mail.parent is not None:
            chain, at = [], self.mails[mail.parent]
            while True:  # References: the thread from its root to the parent
                chain.append(at.message_id)
                if at.parent is None:
                    break
                at = self.mails[at.parent]
            if mail.in_reply_to:
                msg["In-Reply-To"] = f"<{chain[0]}>"
            msg["References"] = " ".join(f"<{m}>" for m in reversed(chain[:20]))
        msg["MIME-Version"] = "1.0"
        if customer.domain == "gmail.com":
            msg["X-Mailer"] = "Gmail"
        elif rng.random() < 0.3:
            msg["User-Agent"] = rng.choice(["Thunderbird 128.4.0", "Microsoft Outlook 16.0"])

        mail.charset, mail.cte = self.encoding(text, customer)
        msg.set_content(text, charset=mail.charset, cte=mail.cte)

        html_part = mail.kind == "html" or (
            mail.kind in ("attachment", "reply") and rng.random() < 0.3
        )
        if html_part:
            msg.add_alternative(
                self.html(text, customer), subtype="html", charset="utf-8",
                cte=rng.choice(["quoted-printable", "base64"]),
            )  # fmt: skip
        if mail.kind == "attachment" or (mail.kind == "reply" and rng.random() < 0.05):
            for _ in range(rng.choices([1, 2, 3], [70, 25, 5])[0]):
                template, maintype, subtype = rng.choice(ATTACHMENT_NAMES)
                name = template.format(
                    inv_short=f"{rng.randint(1, 99999):05d}",
                    name=customer.name,
                    first=customer.first,
                    no=rng.randint(1000, 9999),
                )
                data = self.png() if subtype == "png" else self.pdf()
                msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
                mail.attachments.append(name)
        crlf = rng.random() < 0.3  # as SMTP carried it, or as a maildir stores it
        return msg.as_bytes(policy=policy.SMTP if crlf else policy.default)

    def encoding(self, text: str, customer: Customer) -> tuple[str, str]:
        """The text part's charset and transfer encoding."""
        rng = self.rng
        latin1 = customer.latin1 or rng.random() < 0.08
        try:
            text.encode("iso-8859-1")
        except UnicodeEncodeError:
            latin1 = False
        if text.isascii() and rng.random() < 0.3:
            return "us-ascii", "7bit"
        if latin1:
            return "iso-8859-1", rng.choice(["quoted-printable", "8bit"])
        return "utf-8", rng.choices(["8bit", "quoted-printable", "base64"], [40, 35, 25])[0]

    def html(self, text: str, customer: Customer) -> str:
        blocks = []
        for paragraph in text.strip().split("\n\n"):
            if paragraph.startswith(">") or "\n>" in paragraph:
                quoted = "<br>".join(
                    html.escape(line.lstrip("> ")) for line in paragraph.split("\n")
                )
                blocks.append(
                    '<blockquote class="gmail_quote" style="margin:0 0 0 .8ex;'
                    f'border-left:1px #ccc solid;padding-left:1ex">{quoted}</blockquote>'
                )
            else:
                inner = "<br>".join(html.escape(line) for line in paragraph.split("\n"))
                blocks.append(f"<p>{inner}</p>")
        rows = "".join(
            f"<tr><td>{html.escape(p)}</td><td>{n}</td></tr>"
            for p, n in zip(self.rng.sample(PRODUK, 2), (1, 2), strict=True)
        )
        return (
            '<html><head><meta charset="utf-8"></head><body><div dir="ltr">'
            + "".join(blocks)
            + f'<table border="1"><tr><th>Produk</th><th>Jumlah</th></tr>{rows}</table>'
            + '<p><a href="https://batiksari.id/pesanan">Lihat pesanan</a></p>'
            + "</div></body></html>\n"
        )

    def pdf(self) -> bytes:
        rng = self.rng
        filler = rng.randbytes(rng.randint(2_000, 30_000))
        return (
            b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
            b"2 0 obj\n<< /Length "
            + str(len(filler)).encode()
            + b" >>\nstream\n"
            + filler
            + b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
        )

    def png(self) -> bytes:
        rng = self.rng
        width = height = rng.choice([16, 32, 64])
        rows = b"".join(b"\x00" + rng.randbytes(width * 3) for _ in range(height))

        def chunk(kind: bytes, data: bytes) -> bytes:
            crc = zlib.crc32(kind + data) & 0xFFFFFFFF
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

        header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
        return (
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b"")
        )


def expected_threads(mails: Sequence[Mail]) -> list[int]:
    """The thread each mail belongs to under email threading, as index of the thread's first
    mail: a reply joins its parent's thread (In-Reply-To; References with the same subject);
    a new mail joins the customer's thread with the same subject, else starts one."""
    by_subject: dict[tuple[int, str], int] = {}
    thread: list[int] = []
    for mail in mails:
        if mail.parent is not None:
            thread.append(thread[mail.parent])
            continue
        key = (mail.customer, " ".join(mail.subject.split()).casefold())
        thread.append(by_subject.setdefault(key, mail.index))
    return thread


# --- running loket ------------------------------------------------------------------------------
class Loket:
    """The real ``loket`` command against a fresh database in a temporary data directory."""

    def __init__(self, database: str, data_dir: Path, postgres_url: str | None) -> None:
        from cryptography.fernet import Fernet

        self.database, self.data_dir, self.postgres_url = database, data_dir, postgres_url
        self.env = {
            **os.environ,
            "LOKET_DATA_DIR": str(data_dir),
            "LOKET_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "LOKET_LOG_LEVEL": "WARNING",
            "LOKET_DEBUG": "false",
        }
        for name in ("LOKET_DATABASE_URL", "LOKET_TASKS_BACKEND", "DJANGO_SETTINGS_MODULE"):
            self.env.pop(name, None)
        # As installed: Python keeps its compiled modules (this machine's shell turns that off,
        # which would make every start compile Loket's ~150 modules again).
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)
        if database == "postgres":
            assert postgres_url is not None
            self.env["LOKET_DATABASE_URL"] = postgres_url

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "loket", *args]

    def run(self, *args: str, stdin: Any = None) -> str:
        done = subprocess.run(
            self.command(*args),
            env=self.env,
            cwd=self.data_dir,
            stdin=stdin if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            check=False,
        )
        if done.returncode:
            raise RuntimeError(
                f"loket {' '.join(args[:4])} ... failed ({done.returncode}):\n"
                f"{done.stderr.decode(errors='replace')[-3000:]}"
            )
        return done.stdout.decode(errors="replace")

    def setup(self) -> None:
        if self.database == "postgres":
            recreate_postgres(self.postgres_url or "")
        self.run("migrate", "--no-input")
        self.run("channel", "add", "email", "--name", CHANNEL_NAME, "--address", CHANNEL_ADDRESS)

    def teardown(self) -> None:
        if self.database == "postgres":
            drop_postgres(self.postgres_url or "")

    # --- reading the results (plain SQL: the benchmark process does not start Django)
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if self.database == "postgres":
            import psycopg

            with psycopg.connect(self.postgres_url or "") as conn:
                return list(conn.execute(sql.replace("?", "%s"), params).fetchall())
        uri = f"file:{self.data_dir / 'loket.sqlite3'}?mode=ro"
        with sqlite3.connect(uri, uri=True) as db:
            return list(db.execute(sql, params).fetchall())

    def server_version(self) -> str:
        if self.database != "postgres":
            return f"sqlite {sqlite3.sqlite_version}"
        return f"postgresql {self.query('SHOW server_version')[0][0]}"


def postgres_reachable(url: str) -> bool:
    try:
        import psycopg

        base = url.rpartition("/")[0]
        psycopg.connect(base + "/postgres", connect_timeout=3).close()
    except Exception:
        return False
    return True


def recreate_postgres(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_postgres(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# --- checks -------------------------------------------------------------------------------------
@dataclass
class Check:
    deliveries: int = 0
    processed: int = 0
    failed: int = 0
    messages: int = 0
    missing: int = 0
    attachments: int = 0
    attachments_expected: int = 0
    attachment_names_wrong: int = 0
    replies: int = 0
    replies_in_parent_ticket: int = 0
    reply_links: int = 0  # messages whose reply_to points at the parent (In-Reply-To)
    reply_links_expected: int = 0
    tickets: int = 0
    tickets_expected: int = 0
    threads_wrong: int = 0  # mails not in the ticket email threading puts them in
    contacts: int = 0
    contacts_expected: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            self.processed == self.deliveries
            and self.failed == 0
            and self.missing == 0
            and self.attachments == self.attachments_expected
            and self.attachment_names_wrong == 0
            and self.replies_in_parent_ticket == self.replies
            and self.reply_links == self.reply_links_expected
            and self.tickets == self.tickets_expected
            and self.threads_wrong == 0
            and self.contacts == self.contacts_expected
        )

    def summary(self) -> str:
        return (
            f"deliveries {self.processed}/{self.deliveries} processed, {self.failed} failed; "
            f"inbound messages {self.messages} ({self.missing} mails missing); attachments "
            f"{self.attachments}/{self.attachments_expected} ({self.attachment_names_wrong} "
            f"names wrong); replies in their parent's ticket {self.replies_in_parent_ticket}/"
            f"{self.replies} (reply links {self.reply_links}/{self.reply_links_expected}); "
            f"tickets {self.tickets} (expected {self.tickets_expected}, "
            f"{self.threads_wrong} mails elsewhere); contacts {self.contacts} "
            f"(expected {self.contacts_expected})"
        )


def check(loket: Loket, mails: Sequence[Mail]) -> Check:
    """Compare the database with what the set must make (the mails imported so far only)."""
    result = Check()
    state = dict(loket.query("SELECT state, COUNT(*) FROM channels_delivery GROUP BY state"))
    result.deliveries = sum(state.values())
    result.processed = state.get("processed", 0)
    result.failed = state.get("failed", 0)
    result.errors = [
        str(row[0])[:200]
        for row in loket.query(
            "SELECT error FROM channels_delivery WHERE state = 'failed' ORDER BY id LIMIT 5"
        )
    ]
    rows = loket.query(
        "SELECT id, external_id, ticket_id, reply_to_id FROM tickets_message WHERE direction = 'in'"
    )
    result.messages = len(rows)
    by_external = {row[1]: row for row in rows}
    found = [by_external.get(mail.message_id) for mail in mails]
    result.missing = sum(row is None for row in found)

    names: dict[int, list[str]] = {}
    for message_id, name in loket.query("SELECT message_id, name FROM tickets_attachment"):
        names.setdefault(int(message_id), []).append(str(name))
    result.attachments = sum(len(v) for v in names.values())
    for mail, row in zip(mails, found, strict=True):
        result.attachments_expected += len(mail.attachments)
        if row is not None and sorted(names.get(int(row[0]), [])) != sorted(mail.attachments):
            result.attachment_names_wrong += 1

    threads = expected_threads(mails)
    ticket_of_thread: dict[int, Any] = {}
    thread_of_ticket: dict[Any, int] = {}
    for mail, row in zip(mails, found, strict=True):
        if row is None:
            continue
        ticket = row[2]
        if mail.parent is not None:
            result.replies += 1
            parent_row = found[mail.parent]
            if parent_row is not None and parent_row[2] == ticket:
                result.replies_in_parent_ticket += 1
            if mail.in_reply_to:
                result.reply_links_expected += 1
                if parent_row is not None and row[3] == parent_row[0]:
                    result.reply_links += 1
        thread = threads[mail.index]
        expected_ticket = ticket_of_thread.setdefault(thread, ticket)
        expected_thread = thread_of_ticket.setdefault(ticket, thread)
        if expected_ticket != ticket or expected_thread != thread:
            result.threads_wrong += 1
            result.errors.append(
                f"mail {mail.index} ({mail.kind}, customer {mail.customer}, subject "
                f"{mail.subject!r}) belongs with mail {thread} (ticket id "
                f"{expected_ticket}) but is in ticket id {ticket}"
                + (f", with mail {expected_thread}" if expected_thread != thread else "")
            )
    result.tickets = int(loket.query("SELECT COUNT(*) FROM tickets_ticket")[0][0])
    result.tickets_expected = len(set(threads))
    result.contacts = int(loket.query("SELECT COUNT(*) FROM contacts_contact")[0][0])
    result.contacts_expected = len({mail.customer for mail in mails})
    return result


# --- the benchmark ------------------------------------------------------------------------------
@dataclass
class BulkRun:
    mails: int
    seconds: float
    cpu_seconds: float  # of the loket process (on PostgreSQL the server's own is not in it)

    @property
    def per_second(self) -> float:
        return self.mails / self.seconds


@dataclass
class PipeRun:
    seconds: list[float]
    cpu_seconds: float

    @property
    def per_second(self) -> float:
        return len(self.seconds) / sum(self.seconds)


@dataclass
class Result:
    database: str
    version: str
    bulk: BulkRun
    pipe: PipeRun | None
    check_bulk: Check
    check_all: Check


def import_files(loket: Loket, mails: Sequence[Mail], profile: Path | None = None) -> BulkRun:
    args = ["email", "import", "--channel", CHANNEL_ADDRESS, *(str(m.path) for m in mails)]
    command = loket.command(*args)
    if profile is not None:
        command = [sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "loket", *args]
    cpu = children_cpu()
    started = time.perf_counter()
    done = subprocess.run(
        command,
        env=loket.env,
        cwd=loket.data_dir,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode:
        raise RuntimeError(
            f"loket email import failed ({done.returncode}):\n"
            f"{done.stderr.decode(errors='replace')[-3000:]}"
        )
    return BulkRun(len(mails), seconds, children_cpu() - cpu)


def pipe_files(loket: Loket, mails: Sequence[Mail]) -> PipeRun:
    seconds = []
    cpu = children_cpu()
    for mail in mails:
        with mail.path.open("rb") as stdin:
            started = time.perf_counter()
            loket.run("email", "import", "--channel", CHANNEL_ADDRESS, stdin=stdin)
            seconds.append(time.perf_counter() - started)
    return PipeRun(seconds, children_cpu() - cpu)


def bench(database: str, bulk: list[Mail], pipe: list[Mail], postgres_url: str | None) -> Result:
    data_dir = Path(tempfile.mkdtemp(prefix=f"loket-bench-email-{database}-"))
    loket = Loket(database, data_dir, postgres_url)
    try:
        print(f"{database}: fresh database, one email channel ...", flush=True)
        loket.setup()
        print(f"{database}: loket email import over {len(bulk)} files ...", flush=True)
        bulk_run = import_files(loket, bulk)
        check_bulk = check(loket, bulk)
        print(f"  {bulk_run.per_second:.0f} mails/s; {check_bulk.summary()}", flush=True)
        pipe_run = None
        check_all = check_bulk
        if pipe:
            print(f"{database}: MTA pipe, one process per mail, {len(pipe)} mails ...", flush=True)
            pipe_run = pipe_files(loket, pipe)
            check_all = check(loket, bulk + pipe)
            print(f"  {pipe_run.per_second:.2f} mails/s; {check_all.summary()}", flush=True)
        return Result(database, loket.server_version(), bulk_run, pipe_run, check_bulk, check_all)
    finally:
        loket.teardown()
        shutil.rmtree(data_dir, ignore_errors=True)


def profile_import(bulk: list[Mail], top: int) -> str:
    """Step 1 once more on a fresh SQLite database, under cProfile: the hotspots."""
    import pstats

    data_dir = Path(tempfile.mkdtemp(prefix="loket-bench-email-profile-"))
    loket = Loket("sqlite", data_dir, None)
    try:
        loket.setup()
        out = data_dir / "import.prof"
        run = import_files(loket, bulk, profile=out)
        stats = pstats.Stats(str(out))
        total = stats.total_tt  # type: ignore[attr-defined]
        lines = [
            f"cProfile of `loket email import` over {run.mails} files: {run.seconds:.1f} s wall "
            f"({total:.1f} s profiled; profiling slows it down)",
        ]
        raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
        for title, index in (("cumulative", 3), ("own time", 2)):
            lines += ["", f"top {top} by {title} (share of profiled time):"]
            ranked = sorted(raw.items(), key=lambda kv: kv[1][index], reverse=True)
            shown = 0
            for (filename, line, name), (_cc, calls, tt, ct, _callers) in ranked:
                where = filename.replace(str(ROOT) + "/", "").replace(
                    str(Path(sys.prefix) / "lib"), "<venv>"
                )
                if title == "cumulative" and ("<frozen" in where or name.startswith("<")):
                    continue
                value = ct if index == 3 else tt
                lines.append(
                    f"  {value / total * 100:5.1f}%  {value:6.2f} s  {calls:>8}  "
                    f"{where}:{line}({name})"
                )
                shown += 1
                if shown == top:
                    break
        return "\n".join(lines)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


# --- report -------------------------------------------------------------------------------------
def machine_line(results: Sequence[Result]) -> str:
    cpu, ram = "unknown", "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
            break
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    versions = "; ".join(r.version for r in results)
    return (
        f"cpus (nproc) {os.cpu_count()}; cpu {cpu}; ram {ram}; os {platform.platform()}; "
        f"python {platform.python_version()}; {versions}; load average at the end {load}"
    )


def describe_set(mails: Sequence[Mail]) -> str:
    kinds = {k: sum(m.kind == k for m in mails) for k in ("plain", "html", "attachment", "reply")}
    replies = [m for m in mails if m.parent is not None]
    headers_only = sum(not m.in_reply_to for m in replies)
    attachments = [a for m in mails for a in m.attachments]
    non_ascii = sum(not a.isascii() for a in attachments)
    charsets = {
        f"{c}/{e}": sum(m.charset == c and m.cte == e for m in mails)
        for c, e in sorted({(m.charset, m.cte) for m in mails})
    }
    size = sum(m.size for m in mails)
    return (
        f"{len(mails):,} mails from {len({m.customer for m in mails})} customers, "
        f"{size / 1024 / 1024:.1f} MiB: {kinds['plain']} plain text, {kinds['html']} HTML with "
        f"a plain alternative, {kinds['attachment']} with attachments ({len(attachments)} "
        f"files, {non_ascii} with non-ASCII names), {kinds['reply']} replies to earlier mails "
        f"of the set ({headers_only} by References alone); text parts "
        + ", ".join(f"{k} {v}" for k, v in charsets.items())
    )


def render(
    results: Sequence[Result], bulk: Sequence[Mail], pipe: Sequence[Mail], command: str
) -> str:
    def name(r: Result) -> str:
        return "SQLite" if r.database == "sqlite" else "PostgreSQL"

    out = [
        "### Email import (issue 5)",
        "",
        f"Run {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} with `{command}` "
        "(bench/email_import.py): the real `loket email import` as a subprocess on a fresh "
        "database with one email channel. Set (seed fixed): " + describe_set(bulk) + ".",
        "",
        "Machine: " + machine_line(results) + ".",
        "",
        f"**Many files, one process** (`loket email import --channel {CHANNEL_ADDRESS} FILE…`, "
        f"{len(bulk):,} files; from the process start to its exit, Django's start included):",
        "",
        "| database | mails | seconds | mails/s | CPU ms per mail (loket process) |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in results:
        out.append(
            f"| {name(r)} | {r.bulk.mails} | {r.bulk.seconds:.1f} | **{r.bulk.per_second:.0f}** "
            f"| {r.bulk.cpu_seconds / r.bulk.mails * 1000:.1f} |"
        )
    piped = [r for r in results if r.pipe is not None]
    if piped:
        out += [
            "",
            f"**MTA pipe, one process per mail** (`loket email import --channel "
            f"{CHANNEL_ADDRESS} < FILE`, {len(pipe)} further mails of the set, one after "
            "another; the start is the process's time less the per-mail time above):",
            "",
            "| database | mails | mails/s | p50 ms per mail | max ms | CPU ms per mail "
            "| process start ≈ ms |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for r in piped:
            assert r.pipe is not None
            p50 = statistics.median(r.pipe.seconds) * 1000
            start = p50 - r.bulk.seconds / r.bulk.mails * 1000
            out.append(
                f"| {name(r)} | {len(r.pipe.seconds)} | **{r.pipe.per_second:.2f}** "
                f"| {p50:.0f} | {max(r.pipe.seconds) * 1000:.0f} "
                f"| {r.pipe.cpu_seconds / len(r.pipe.seconds) * 1000:.0f} | {start:.0f} |"
            )
    out += ["", "**Checks** (after each step; all must hold):", ""]
    for r in results:
        verdict = "ok" if r.check_bulk.ok and r.check_all.ok else "FAILED"
        out.append(f"- {name(r)}: {verdict} — {r.check_all.summary()}.")
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mails", type=int, default=2000, help="mails of the one-process import")
    parser.add_argument("--pipe", type=int, default=10, help="mails through the MTA pipe")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help=f"PostgreSQL database to make afresh (default when reachable: {DEFAULT_POSTGRES_URL})",
    )
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="only profile the one-process import (SQLite, cProfile); docs untouched",
    )
    parser.add_argument("--quick", action="store_true", help="200 mails, 5 piped; docs untouched")
    args = parser.parse_args()
    if args.quick:
        args.mails, args.pipe = 200, 5

    databases: list[tuple[str, str | None]] = [("sqlite", None)]
    if not args.no_postgres:
        url = args.postgres or DEFAULT_POSTGRES_URL
        if postgres_reachable(url):
            databases.append(("postgres", url))
        elif args.postgres:
            raise SystemExit(f"PostgreSQL is not reachable at {url}")
        else:
            print(f"NOTICE: PostgreSQL is not reachable at {url}: SQLite only.", flush=True)

    mail_dir = Path(tempfile.mkdtemp(prefix="loket-bench-email-mails-"))
    try:
        started = time.perf_counter()
        generator = Generator()
        bulk = generator.generate(args.mails, mail_dir)
        pipe = generator.generate(args.pipe, mail_dir)
        print(
            f"generated in {time.perf_counter() - started:.1f} s: {describe_set(bulk)}",
            flush=True,
        )
        if args.profile:
            print(profile_import(bulk, 30))
            return
        results = [bench(database, bulk, pipe, url) for database, url in databases]
    finally:
        shutil.rmtree(mail_dir, ignore_errors=True)

    command = (
        "make bench" if not sys.argv[1:] else "bench/email_import.py " + " ".join(sys.argv[1:])
    )
    section = render(results, bulk, pipe, command)
    print("\n" + section)
    failed = [r for r in results if not (r.check_bulk.ok and r.check_all.ok)]
    for r in failed:
        print(f"CHECK FAILED on {r.database}: {r.check_all.summary()}", file=sys.stderr)
        for error in r.check_all.errors[:20]:
            print(f"  {error}", file=sys.stderr)
    if failed:
        raise SystemExit(1)
    if not (args.quick or args.mails != 2000):
        import run

        run.write_doc("email", section)
        print(f"written to {run.DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
