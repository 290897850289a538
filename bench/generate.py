"""Generate the benchmark dataset: an Indonesian shop at a realistic size.

    .venv/bin/python bench/generate.py [--tickets 100000] [--messages 500000] [--database sqlite]

100,000 tickets and 500,000 messages (Indonesian text) from about 40,000 customers over two
channels (WhatsApp and email), two teams and six agents, in every status, spread over a year,
plus their search-index rows. Rows go in with ``bulk_create`` (not through the services: that
would take hours); the fields the services keep consistent (last activity, preview, waiting
since, first response, solved/closed times, the ticket-number counter) are set the same way.
The event log is left empty: no benchmarked read touches it.

The SQLite database is cached in bench/out/ (gitignored) and reused while the generator's
VERSION and sizes are unchanged; PostgreSQL keeps it in the ``loket_bench`` database.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
# Bump when the generated data changes shape: cached datasets are then made again.
VERSION = 1
POSTGRES_URL = os.environ.get(
    "LOKET_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/loket_bench"
)
NOW = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)  # fixed, so every run makes the same data
MARKER = "bench:dataset"
MAX_MESSAGES = 300


@dataclass(frozen=True)
class Size:
    tickets: int = 100_000
    messages: int = 500_000
    contacts: int = 40_000

    @property
    def tag(self) -> str:
        return f"v{VERSION}-{self.tickets}t-{self.messages}m-{self.contacts}c"

    @property
    def marker_value(self) -> int:
        return VERSION * 10**15 + self.tickets * 10**7 + self.messages // 100


# --- Django -----------------------------------------------------------------------------------
def sqlite_dir(size: Size) -> Path:
    return OUT / f"sqlite-{size.tag}"


def setup_django(database: str, data_dir: Path) -> None:
    """Point Loket's settings at the benchmark database, then start Django."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ["LOKET_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("LOKET_LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loket.settings")
    if database == "postgres":
        os.environ["LOKET_DATABASE_URL"] = POSTGRES_URL
        _create_postgres_database(POSTGRES_URL)
    else:
        os.environ.pop("LOKET_DATABASE_URL", None)
    import django

    django.setup()


def _create_postgres_database(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def dataset_ready(size: Size) -> bool:
    from loket.core.models import Counter

    return Counter.objects.filter(name=MARKER, value=size.marker_value).exists()


# --- vocabulary -------------------------------------------------------------------------------
def _words(text: str) -> list[str]:
    return text.split()


FIRST = _words(
    "Dewi Rudi Siti Agus Budi Rina Andi Wulan Eko Fitri Hendra Indah Joko Kartika Lestari Made "
    "Nur Putri Rizky Sri Taufik Utami Wahyu Yuni Ayu Bayu Citra Dian Fajar Gita Hadi Intan "
    "Jihan Kevin Lina Maya Nanda Oki Puspita Ratna Sinta Tono Umar Vina Yoga Zahra Ahmad Bella "
    "Cahya Dimas Endang Farhan Galih Hesti Iwan Jaka Kiki Lukman Mega Nia Okta Pandu Rahmat "
    "Salsa Tri Usman Vivi Wati Yusuf Annisa Bambang Clara Desi Erlangga Faisal Gilang Hana"
)
LAST = _words(
    "Lestari Hartono Rahayu Santoso Wijaya Saputra Pratama Kurniawan Setiawan Hidayat Nugroho "
    "Susanto Wibowo Siregar Nasution Simanjuntak Sihombing Tanjung Harahap Putra Putri "
    "Halim Gunawan Suryadi Purnomo Firmansyah Maulana Ramadhan Utomo Permana Syahputra"
)
PRODUCTS = [
    "batik tulis parang",
    "batik cap kawung",
    "kemeja batik lengan panjang",
    "kemeja batik pria",
    "blus batik wanita",
    "kain songket palembang",
    "kain tenun ikat",
    "sarung tenun",
    "daster batik",
    "gamis batik",
    "hijab segi empat",
    "pashmina motif",
    "mukena bordir",
    "tas anyaman pandan",
    "tas rotan bulat",
    "dompet kulit",
    "sepatu kulit",
    "sandal kulit",
    "selendang sutra",
    "kebaya modern",
    "rok batik lilit",
    "celana kulot batik",
    "outer batik",
    "syal tenun",
    "taplak meja batik",
    "sprei batik",
    "masker kain batik",
    "kopi gayo",
    "kopi toraja",
    "teh melati",
    "keripik tempe",
    "sambal roa",
    "madu hutan",
    "gula aren",
]
COLOURS = _words("merah biru hijau kuning hitam putih coklat maroon navy krem ungu abu tosca")
SIZES = _words("S M L XL XXL 38 39 40 41 42 43")
CITIES = _words(
    "Jakarta Bandung Surabaya Medan Semarang Makassar Palembang Yogyakarta Solo Malang Denpasar "
    "Bogor Depok Tangerang Bekasi Padang Pekanbaru Batam Balikpapan Samarinda Pontianak "
    "Banjarmasin Manado Kupang Mataram Ambon Jayapura Jambi Bengkulu Lampung Cirebon Tasikmalaya "
    "Purwokerto Magelang Kediri Jember Banyuwangi Madiun Tegal Pekalongan Kudus Salatiga Serang "
    "Cilegon Sukabumi Garut Sumedang Karawang Palu Kendari Gorontalo Ternate Sorong Tarakan"
)
COURIERS = ["JNE", "J&T", "SiCepat", "AnterAja", "Pos Indonesia", "Ninja Xpress", "GoSend"]
BANKS = ["BCA", "Mandiri", "BRI", "BNI", "BSI", "CIMB Niaga"]
PARTS = ["jahitan", "kerah", "lengan", "resleting", "kancing", "tali", "sol", "kemasan"]

INBOUND = [
    "Kak, stok {p} warna {c} ukuran {s} masih ada?",
    "Halo min, pesanan saya {inv} sudah dikirim belum ya?",
    "Paket saya belum sampai di {city}, nomor resi {resi}. Tolong dicek ya kak.",
    "Berapa ongkir ke {city} pakai {kurir}?",
    "Kirimannya rusak kak, {p} sobek di bagian {part}. Mohon dibantu penggantiannya.",
    "Saya mau tukar ukuran {s} ke yang lebih besar, bisa?",
    "Sudah transfer Rp{rp} ke rekening {bank} atas nama {name}, mohon dicek ya kak.",
    "Apakah bisa COD ke {city}?",
    "Terima kasih kak, barangnya sudah diterima dengan baik.",
    "Kapan {p} restock lagi kak?",
    "Mohon info cara pembayaran cicilan untuk {p}.",
    "Alamat pengiriman saya ganti ke Jl. {street} No. {no}, {city}.",
    "Pesanan {inv} mau dibatalkan saja kak, maaf ya.",
    "Saya pesan {n} pcs {p}, bisa dapat diskon?",
    "Warna {c} untuk {p} ada foto aslinya kak?",
    "Pengiriman ke {city} biasanya berapa hari?",
    "Kok pesanan saya belum diproses dari kemarin?",
    "Min, bisa kirim hari ini? Butuh untuk acara hari Sabtu.",
    "Bahan {p} luntur tidak kalau dicuci?",
    "Paketnya sudah sampai tapi isinya kurang satu, pesanan {inv}.",
    "Ada promo ongkir gratis ke {city}?",
    "Saya reseller dari {city}, minta daftar harga grosir dong.",
    "Mau konfirmasi pembayaran pesanan {inv} via {bank}.",
    "Ukuran {s} itu lingkar dadanya berapa cm kak?",
]
OUTBOUND = [
    "Halo kak {name}, terima kasih sudah menghubungi Toko Batik Sari.",
    "Stok {p} warna {c} ukuran {s} masih tersedia kak, silakan diorder.",
    "Pesanan {inv} sudah kami kirim lewat {kurir}, nomor resi {resi}.",
    "Mohon maaf atas keterlambatannya kak, kami cek dulu ke ekspedisi {kurir}.",
    "Ongkir ke {city} Rp{ongkir} via {kurir}, estimasi {d} hari kerja.",
    "Pembayaran sudah kami terima kak, pesanan diproses hari ini.",
    "Untuk penukaran ukuran silakan kirim balik barangnya ke gudang kami di Solo ya kak.",
    "Mohon kirimkan foto kerusakannya kak, nanti kami ganti dengan yang baru.",
    "Bisa kak, pengiriman hari ini kalau pembayaran masuk sebelum jam 14.00.",
    "Untuk pembelian {n} pcs ada diskon 10% kak.",
    "Maaf kak, {p} warna {c} sedang kosong. Restock kira-kira minggu depan.",
    "Pesanan {inv} sudah kami batalkan dan dana dikembalikan ke rekening {bank}.",
    "Baik kak, alamat pengiriman sudah kami perbarui.",
    "Sama-sama kak, ditunggu order berikutnya!",
    "Bahan {p} tidak luntur kak, cukup dicuci dengan air dingin.",
]
NOTES = [
    "Cek stok gudang {city} dulu sebelum konfirmasi.",
    "Pelanggan langganan, kasih diskon 10%.",
    "Sudah eskalasi ke tim pengiriman untuk retur {inv}.",
    "Klaim ke {kurir} sudah diajukan, tunggu 3 hari kerja.",
    "Transfer sudah masuk di mutasi {bank}.",
    "Pelanggan minta ditelepon sore ini.",
]
EMAIL_SUBJECTS = [
    "Pertanyaan pesanan {inv}",
    "Komplain pengiriman ke {city}",
    "Permintaan retur {p}",
    "Konfirmasi pembayaran {inv}",
    "Tanya stok {p}",
    "Pembelian grosir untuk toko di {city}",
    "Barang rusak saat diterima",
]
STREETS = _words("Merdeka Sudirman Thamrin Diponegoro Gajah Mada Pahlawan Melati Kenanga Mawar")


class Words:
    """Fills message templates with random products, cities, invoices and tracking numbers."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def fill(self, template: str, name: str) -> str:
        r = self.rng
        return template.format(
            p=r.choice(PRODUCTS),
            c=r.choice(COLOURS),
            s=r.choice(SIZES),
            city=r.choice(CITIES),
            kurir=r.choice(COURIERS),
            bank=r.choice(BANKS),
            part=r.choice(PARTS),
            inv=f"INV/{r.choice((2025, 2026))}/{r.randrange(100000, 999999)}",
            resi=f"{r.choice(('JNE', 'JT', 'SCP'))}{r.randrange(10**11, 10**12)}",
            rp=f"{r.randrange(50, 2500) * 1000:,}".replace(",", "."),
            ongkir=f"{r.randrange(9, 60) * 1000:,}".replace(",", "."),
            d=r.randrange(1, 7),
            n=r.randrange(2, 50),
            no=r.randrange(1, 200),
            street=r.choice(STREETS),
            name=name,
        )

    def message(self, templates: list[str], name: str, email: bool) -> str:
        count = self.rng.choice((1, 1, 1, 2, 2, 3))
        text = " ".join(self.fill(self.rng.choice(templates), name) for _ in range(count))
        if email:
            return f"Selamat siang,\n\n{text}\n\nSalam,\n{name}"
        return text


# --- the dataset ------------------------------------------------------------------------------
@dataclass
class PlannedTicket:
    contact: int
    whatsapp: bool
    created_at: datetime
    messages: int = 1
    status: str = "closed"
    rows: list[Any] = field(default_factory=list)


def _pareto_weights(rng: random.Random, n: int, alpha: float) -> list[float]:
    return [rng.paretovariate(alpha) for _ in range(n)]


def plan(size: Size, rng: random.Random) -> list[PlannedTicket]:
    """Who writes when, how long each conversation is, and the status it ends in."""
    contact_weights = _pareto_weights(rng, size.contacts, 1.6)
    owners = rng.choices(range(size.contacts), weights=contact_weights, k=size.tickets)
    span = timedelta(days=365).total_seconds()
    tickets = []
    for contact in owners:
        # More recent months are busier (the shop grows).
        age = span * (1 - rng.random() ** 0.6)
        tickets.append(
            PlannedTicket(
                contact=contact,
                whatsapp=contact % 10 < 7,  # 70% of customers write on WhatsApp
                created_at=NOW - timedelta(seconds=age),
            )
        )
    tickets.sort(key=lambda t: t.created_at)
    # A customer's older conversations on a channel are closed; the newest one is in any state.
    newest: dict[tuple[int, bool], PlannedTicket] = {}
    for ticket in tickets:
        newest[(ticket.contact, ticket.whatsapp)] = ticket
    states = ["new", "open", "pending", "solved", "closed"]
    for ticket in newest.values():
        ticket.status = rng.choices(states, weights=[8, 22, 12, 28, 30])[0]
        if ticket.status == "new":
            ticket.messages = rng.choice((1, 1, 2, 3))
    # The other messages go to answered conversations; a few run very long.
    answered = [i for i, t in enumerate(tickets) if t.status != "new"]
    extra = size.messages - sum(t.messages for t in tickets)
    weights = _pareto_weights(rng, len(answered), 1.3)
    for index in rng.choices(answered, weights=weights, k=max(0, extra)):
        tickets[index].messages += 1
    # The longest conversations stop at MAX_MESSAGES; what they had left goes elsewhere.
    spill = sum(max(0, t.messages - MAX_MESSAGES) for t in tickets)
    for ticket in tickets:
        ticket.messages = min(ticket.messages, MAX_MESSAGES)
    while spill:
        ticket = tickets[rng.choice(answered)]
        if ticket.messages < MAX_MESSAGES:
            ticket.messages += 1
            spill -= 1
    return tickets


@dataclass
class Shop:
    """The staff and channels every conversation is handled by."""

    sales: Any
    whatsapp: Any
    email: Any
    agents: dict[int, list[Any]]
    tags: list[Any]


class Generator:
    """Fills a migrated, empty database; ``run()`` returns timings in seconds."""

    def __init__(self, size: Size, seed: int, progress: bool) -> None:
        self.size = size
        self.rng = random.Random(seed)
        self.words = Words(self.rng)
        self.progress = progress
        self.started = time.monotonic()
        self.phone_of: dict[int, Any] = {}
        self.mail_of: dict[int, Any] = {}

    def say(self, text: str) -> None:
        if self.progress:
            print(f"  [{time.monotonic() - self.started:6.1f}s] {text}", flush=True)

    def run(self) -> dict[str, float]:
        from django.db import transaction

        from loket.tickets.models import Ticket

        if Ticket.objects.exists():
            raise SystemExit("generate: the database already has tickets; use an empty one")
        timings: dict[str, float] = {}
        with transaction.atomic():
            shop = self.staff()
            contacts = self.customers()
        timings["contacts"] = time.monotonic() - self.started
        self.say("planning tickets")
        planned = plan(self.size, self.rng)
        tickets, messages = [], []
        for number, p in enumerate(planned, start=FIRST_NUMBER):
            ticket, rows = self.conversation(shop, contacts[p.contact], number, p)
            tickets.append(ticket)
            messages.append(rows)
        self.say(f"{len(tickets)} tickets, {sum(map(len, messages))} messages planned")
        flat = self.insert(shop, tickets, messages)
        timings["rows"] = time.monotonic() - self.started - timings["contacts"]
        index_started = time.monotonic()
        self.index(tickets, flat)
        timings["search_index"] = time.monotonic() - index_started
        self.finish()
        timings["total"] = time.monotonic() - self.started
        self.say("done")
        return timings

    def staff(self) -> Shop:
        from loket.accounts.models import Role, Team, User
        from loket.channels.models import Channel
        from loket.tickets.models import Tag

        sales = Team.objects.create(name="Penjualan")
        shipping = Team.objects.create(name="Pengiriman")
        people = [
            ("sari@batiksari.id", "Sari Wulandari", Role.ADMIN, []),
            ("joko@batiksari.id", "Joko Susilo", Role.SUPERVISOR, [sales]),
            ("budi@batiksari.id", "Budi Santoso", Role.AGENT, [sales]),
            ("rina@batiksari.id", "Rina Marlina", Role.AGENT, [sales]),
            ("wati@batiksari.id", "Wati Rahayu", Role.AGENT, [shipping]),
            ("agus@batiksari.id", "Agus Salim", Role.AGENT, [shipping]),
        ]
        agents: dict[int, list[Any]] = {sales.pk: [], shipping.pk: []}
        for email, name, role, teams in people:
            user = User.objects.create_user(email, None, name=name, role=role)
            user.teams.set(teams)
            for team in teams:
                agents[team.pk].append(user)
        whatsapp = Channel.objects.create(
            kind="whatsapp", name="WhatsApp Toko", address="+6281100001111", team=sales
        )
        mailbox = Channel.objects.create(
            kind="email", name="Email CS", address="cs@batiksari.id", team=shipping
        )
        tags = Tag.objects.bulk_create(
            Tag(name=n) for n in ("grosir", "retur", "komplain", "vip", "cod", "pembayaran")
        )
        return Shop(sales, whatsapp, mailbox, agents, tags)

    def customers(self) -> list[Any]:
        """70% write on WhatsApp (a phone), 30% by email; one in ten has both."""
        from loket.contacts.models import Contact, Identity

        self.say("contacts")
        rng = self.rng
        first_seen = NOW - timedelta(days=400)
        contacts = Contact.objects.bulk_create(
            (
                Contact(
                    name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                    created_at=first_seen,
                    updated_at=first_seen,
                )
                for _ in range(self.size.contacts)
            ),
            batch_size=5000,
        )
        identities: list[Identity] = []
        for i, contact in enumerate(contacts):
            phone = Identity(
                contact=contact,
                kind="phone",
                value=f"+628{1100000000 + i * 7919 % 8899999999:010d}",
                display_name=contact.name,
                created_at=first_seen,
            )
            mail = Identity(
                contact=contact,
                kind="email",
                value=f"{contact.name.lower().replace(' ', '.')}.{i}@contoh.co.id",
                display_name=contact.name,
                created_at=first_seen,
            )
            if i % 10 < 7:
                identities += [phone, mail] if i % 10 == 0 else [phone]
            else:
                identities += [mail, phone] if i % 10 == 9 else [mail]
        Identity.objects.bulk_create(identities, batch_size=5000)
        self.phone_of = {x.contact_id: x for x in identities if x.kind == "phone"}
        self.mail_of = {x.contact_id: x for x in identities if x.kind == "email"}
        return contacts

    def conversation(self, shop: Shop, contact: Any, number: int, p: PlannedTicket) -> Any:
        """One ticket and its messages, consistent the way the services keep them."""
        from loket.tickets.models import Message, Ticket

        rng, words = self.rng, self.words
        on_whatsapp = (p.whatsapp or contact.pk not in self.mail_of) and (
            contact.pk in self.phone_of
        )
        channel = shop.whatsapp if on_whatsapp else shop.email
        identity = self.phone_of[contact.pk] if on_whatsapp else self.mail_of[contact.pk]
        team = channel.team if rng.random() > 0.05 else None
        pool = shop.agents[team.pk if team is not None else shop.sales.pk]
        assignee = None if p.status == "new" and rng.random() < 0.7 else rng.choice(pool)
        subject = words.fill(rng.choice(EMAIL_SUBJECTS), contact.name) if not on_whatsapp else ""
        at = p.created_at
        gap_mean = 600 if on_whatsapp else 4 * 3600
        gaps = [rng.expovariate(1 / gap_mean) for _ in range(p.messages - 1)]
        room = (NOW - timedelta(hours=1) - at).total_seconds()
        if sum(gaps) > room:  # a long conversation that started recently: it went faster
            gaps = [g * room / sum(gaps) for g in gaps]
        msgs: list[Message] = []
        direction = "in"
        first_response = waiting_since = last_customer = None
        for i in range(p.messages):
            if i > 0:
                at += timedelta(seconds=gaps[i - 1])
                direction = _next_direction(rng, p.status, direction)
            last_one = i == p.messages - 1 and p.messages > 1
            if last_one and p.status in {"pending", "solved", "closed"} and direction == "in":
                direction = "out"
            if direction == "in":
                text = words.message(INBOUND, contact.name, not on_whatsapp)
                last_customer = at
                waiting_since = waiting_since or at
            elif direction == "out":
                text = words.message(OUTBOUND, contact.name.split()[0], False)
                first_response = first_response or at
                waiting_since = None
            else:
                text = words.fill(rng.choice(NOTES), contact.name)
            msgs.append(
                Message(
                    channel=None if direction == "note" else channel,
                    direction=direction,
                    author=None if direction == "in" else (assignee or rng.choice(pool)),
                    identity=None if direction == "note" else identity,
                    subject=subject if i == 0 else "",
                    text=text,
                    external_id=_external_id(direction, on_whatsapp, number, i),
                    delivery_status={"in": "received", "out": "read", "note": ""}[direction],
                    created_at=at,
                    sent_at=at if direction == "out" else None,
                    delivered_at=at + timedelta(seconds=5) if direction == "out" else None,
                    read_at=at + timedelta(seconds=60) if direction == "out" else None,
                )
            )
        visible = [m for m in msgs if m.direction != "note"]
        solved_at = closed_at = None
        if p.status in {"solved", "closed"}:
            solved_at = min(at + timedelta(hours=rng.uniform(1, 48)), NOW)
        if p.status == "closed":
            closed_at = min(solved_at + timedelta(days=4), NOW) if solved_at else NOW
        if p.status in {"solved", "closed", "pending"}:
            waiting_since = None
        assert at <= NOW
        ticket = Ticket(
            number=number,
            subject=subject or (msgs[0].text[:80]),
            status=p.status,
            priority=rng.choices(["low", "normal", "high", "urgent"], weights=[10, 75, 12, 3])[0],
            channel=channel,
            contact=contact,
            assignee=assignee,
            team=team,
            created_at=p.created_at,
            updated_at=max(x for x in (at, solved_at, closed_at) if x is not None),
            last_activity_at=at,
            last_customer_message_at=last_customer,
            waiting_since=waiting_since,
            first_response_at=first_response,
            solved_at=solved_at,
            closed_at=closed_at,
            preview=visible[-1].text.strip().splitlines()[0][:200] if visible else "",
        )
        return ticket, msgs

    def insert(self, shop: Shop, tickets: list[Any], messages: list[list[Any]]) -> list[Any]:
        from django.db import transaction

        from loket.core.models import Counter
        from loket.tickets.models import Message, Ticket

        through = Ticket.tags.through
        flat: list[Message] = []
        links = []
        with transaction.atomic():
            Ticket.objects.bulk_create(tickets, batch_size=2000)
            self.say("tickets inserted")
            for ticket, rows in zip(tickets, messages, strict=True):
                for m in rows:
                    m.ticket = ticket
                flat.extend(rows)
                if self.rng.random() < 0.2:
                    links.append(through(ticket_id=ticket.pk, tag_id=self.rng.choice(shop.tags).pk))
            through.objects.bulk_create(links, batch_size=5000)
            Message.objects.bulk_create(flat, batch_size=2000)
            self.say("messages inserted")
            Counter.objects.update_or_create(
                name="ticket_number", defaults={"value": FIRST_NUMBER + len(tickets) - 1}
            )
        return flat

    def index(self, tickets: list[Any], messages: list[Any]) -> None:
        """The search rows the services' hooks would have written, through the bulk path."""
        from django.db import connection, transaction

        from loket.tickets import search

        with transaction.atomic():
            search.index_rows([search.Row(t.pk, None, t.subject) for t in tickets])
            for start in range(0, len(messages), 10_000):
                search.index_rows(
                    [
                        search.Row(
                            m.ticket_id, m.pk, search.message_text(m.subject, m.text, m.html)
                        )
                        for m in messages[start : start + 10_000]
                    ]
                )
            if connection.vendor == "sqlite":
                with connection.cursor() as cursor:
                    cursor.execute(OPTIMIZE_FTS)
        self.say("search index written")

    def finish(self) -> None:
        from django.db import connection

        from loket.core.models import Counter

        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # Also folds the GIN indexes' pending lists into the indexes proper.
                cursor.execute("VACUUM ANALYZE")
            else:
                cursor.execute("PRAGMA optimize")
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        Counter.objects.update_or_create(name=MARKER, defaults={"value": self.size.marker_value})


OPTIMIZE_FTS = "INSERT INTO tickets_search (tickets_search) VALUES ('optimize')"
FIRST_NUMBER = 1001


def _next_direction(rng: random.Random, status: str, previous: str) -> str:
    """Customer and shop take turns; now and then an internal note; new tickets: customer only."""
    if status == "new":
        return "in"
    if rng.random() < 0.05:
        return "note"
    return "out" if previous == "in" else "in"


def _external_id(direction: str, on_whatsapp: bool, number: int, i: int) -> str | None:
    if direction == "in":
        return f"wamid.bench.{number}.{i}" if on_whatsapp else f"<{number}.{i}@contoh.co.id>"
    if direction == "out":
        return f"wamid.out.{number}.{i}" if on_whatsapp else f"<out.{number}.{i}@batiksari.id>"
    return None


def generate(size: Size, *, seed: int = 20261101, progress: bool = True) -> dict[str, float]:
    """Fill the (migrated, empty) database. Returns timings in seconds."""
    return Generator(size, seed, progress).run()


def ensure_dataset(size: Size, database: str) -> tuple[bool, dict[str, float]]:
    """Make the dataset unless a complete one is there. Django must be set up already.

    Returns (generated now?, timings).
    """
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if dataset_ready(size):
        return False, {}
    if database == "postgres":
        _reset_postgres()
    return True, generate(size)


def _reset_postgres() -> None:
    """An incomplete PostgreSQL dataset: empty every table and start over."""
    from django.core.management import call_command
    from django.db import connection

    call_command("flush", verbosity=0, interactive=False)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE tickets_search")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=Size.tickets)
    parser.add_argument("--messages", type=int, default=Size.messages)
    parser.add_argument("--contacts", type=int, default=Size.contacts)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--force", action="store_true", help="Make the dataset again.")
    args = parser.parse_args()
    size = Size(args.tickets, args.messages, args.contacts)
    data_dir = sqlite_dir(size)
    if args.force and args.database == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            (data_dir / f"loket.sqlite3{suffix}").unlink(missing_ok=True)
    setup_django(args.database, data_dir)
    if args.force and args.database == "postgres":
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        _reset_postgres()
    made, timings = ensure_dataset(size, args.database)
    if not made:
        print(f"dataset {size.tag} already in place ({args.database})")
    else:
        print(", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))


if __name__ == "__main__":
    main()
