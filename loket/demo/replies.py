"""The demo shop's saved replies and macros, added through the replies services."""

from __future__ import annotations

from loket.accounts.models import User
from loket.replies import services
from loket.replies.models import Assignment
from loket.replies.services import MacroSpec
from loket.tickets.models import Status

# (title, shortcut, text) — shared by the supervisor.
SHARED_REPLIES: tuple[tuple[str, str, str], ...] = (
    (
        "Salam pembuka",
        "salam",
        "Halo Kak {{ contact.first_name }}, terima kasih sudah menghubungi {{ business.name }}. "
        "Saya {{ agent.first_name }}, ada yang bisa saya bantu? 😊",
    ),
    (
        "Info ongkir",
        "ongkir",
        "Ongkir ke Pulau Jawa mulai Rp10.000 (JNE REG, 2-3 hari kerja). Untuk luar Jawa boleh "
        "dikirim nama kota tujuannya ya Kak, nanti kami hitungkan.",
    ),
    (
        "Cara pembayaran",
        "bayar",
        "Pembayaran bisa transfer ke BCA 123 456 7890 a.n. Batik Sari atau lewat QRIS. "
        "Setelah transfer, mohon kirim bukti bayarnya di sini ya Kak.",
    ),
    (
        "Stok habis",
        "stokhabis",
        "Mohon maaf Kak {{ contact.first_name }}, motif itu sedang kosong. Restok biasanya 1-2 "
        "minggu; mau kami kabari kalau sudah ada, atau Kakak mau lihat motif lain yang mirip?",
    ),
    (
        "Nomor resi",
        "resi",
        "Pesanan Kakak sudah kami kirim hari ini. Nomor resi kami kirim di percakapan ini "
        "(tiket #{{ ticket.number }}) paling lambat nanti malam ya Kak.",
    ),
    (
        "Penutup",
        "penutup",
        "Terima kasih Kak {{ contact.first_name }}, semoga suka dengan batiknya! Salam hangat, "
        "{{ agent.name }} - {{ business.name }}",
    ),
)

# (agent key, title, shortcut, text) — personal replies.
PERSONAL_REPLIES: tuple[tuple[str, str, str, str], ...] = (
    ("budi", "Cek gudang", "cek", "Sebentar ya Kak, saya cek dulu ke gudang 🙏"),
    (
        "wati",
        "Paket tertahan",
        "tertahan",
        "Mohon maaf Kak, paketnya tertahan di gudang kurir. Kami sudah minta percepatan; "
        "kabar terbarunya kami kirim di sini.",
    ),
)


def add(users: dict[str, User]) -> None:
    """Add the demo's replies and macros (``users`` by demo key: sari, joko, budi, ...)."""
    supervisor = users["joko"]
    for title, shortcut, body in SHARED_REPLIES:
        services.create_reply(supervisor, title=title, shortcut=shortcut, body=body, shared=True)
    for key, title, shortcut, body in PERSONAL_REPLIES:
        services.create_reply(users[key], title=title, shortcut=shortcut, body=body)
    services.create_macro(
        supervisor,
        MacroSpec(
            name="Selesai & terima kasih",
            body="Terima kasih Kak {{ contact.first_name }}, pesanan sudah beres ya. Kalau ada "
            "apa-apa, balas saja pesan ini. Salam, {{ agent.first_name }} - {{ business.name }}",
            status=Status.SOLVED,
            tags=("selesai",),
            assignment=Assignment.ME,
        ),
        shared=True,
    )
    services.create_macro(
        supervisor,
        MacroSpec(
            name="Tunggu pembayaran",
            body="Baik Kak, pesanannya kami siapkan. Kami tunggu bukti transfernya ya; pesanan "
            "diproses setelah pembayaran masuk.",
            status=Status.PENDING,
            tags=("menunggu pembayaran",),
            assignment=Assignment.ME,
        ),
        shared=True,
    )
