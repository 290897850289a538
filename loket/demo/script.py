"""The demo shop's people and conversations: Toko Batik Sari, a batik shop in Yogyakarta.

Everything here is data. ``loket.demo.shop`` plays it through the real services under a moving
clock. Times: ``ago`` is when the customer's first message arrived; every step's ``after`` is
minutes after the step before it. Customers write the way they write on WhatsApp.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

SHOP_NAME = "Toko Batik Sari"
STAFF_DOMAIN = "batiksari.test"


@dataclass(frozen=True)
class Person:
    key: str
    name: str
    role: str  # accounts.Role value
    teams: tuple[str, ...]

    @property
    def email(self) -> str:
        return f"{self.key}@{STAFF_DOMAIN}"


SALES, SHIPPING = "Penjualan", "Pengiriman"

STAFF = (
    Person("sari", "Sari Wulandari", "admin", ()),
    Person("joko", "Joko Susilo", "supervisor", (SALES, SHIPPING)),
    Person("budi", "Budi Santoso", "agent", (SALES,)),
    Person("dimas", "Dimas Pratama", "agent", (SALES,)),
    Person("wati", "Wati Rahayu", "agent", (SHIPPING,)),
    Person("rina", "Rina Marlina", "agent", (SHIPPING,)),
)

WHATSAPP_NUMBER = "+6281138002024"
WHATSAPP_NAME = "WhatsApp Batik Sari"
EMAIL_ADDRESS = f"cs@{STAFF_DOMAIN}"
EMAIL_NAME = "Email CS Batik Sari"


# --- steps --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Say:
    """The customer writes."""

    after: int
    text: str


@dataclass(frozen=True)
class Reply:
    """An agent answers. ``fail`` = (code, reason) when the provider later reports failure.

    ``template`` = (name, *parameters) sends that approved WhatsApp template instead of free
    text (the only way to write after the 24-hour window closed); ``text`` is what it reads.
    """

    after: int
    agent: str
    text: str
    fail: tuple[str, str] | None = None
    template: tuple[str, ...] = ()


@dataclass(frozen=True)
class Note:
    after: int
    agent: str
    text: str


@dataclass(frozen=True)
class Assign:
    after: int
    agent: str
    by: str


@dataclass(frozen=True)
class SetStatus:
    after: int
    status: str
    by: str | None  # None: the system (auto-close)


@dataclass(frozen=True)
class Tag:
    after: int
    by: str
    tags: tuple[str, ...]


@dataclass(frozen=True)
class SetPriority:
    after: int
    priority: str
    by: str


@dataclass(frozen=True)
class MoveTeam:
    after: int
    team: str
    by: str


@dataclass(frozen=True)
class MergeInto:
    """This conversation's customer turns out to be the one behind ``address``: merge them."""

    after: int
    by: str
    address: str


Step = Say | Reply | Note | Assign | SetStatus | Tag | SetPriority | MoveTeam | MergeInto


@dataclass(frozen=True)
class Conversation:
    channel: str  # "whatsapp" | "email"
    customer: str
    address: str  # a phone as the customer typed it, or an email address
    ago: timedelta
    steps: tuple[Step, ...]
    subject: str = ""


def ago(days: int = 0, hours: int = 0, minutes: int = 0) -> timedelta:
    return timedelta(days=days, hours=hours, minutes=minutes)


def wa(customer: str, phone: str, when: timedelta, *steps: Step) -> Conversation:
    return Conversation("whatsapp", customer, phone, when, steps)


def mail(customer: str, address: str, subject: str, when: timedelta, *steps: Step) -> Conversation:
    return Conversation("email", customer, address, when, steps, subject=subject)


def tags(after: int, by: str, *names: str) -> Tag:
    return Tag(after, by, names)


MAILBOX_FULL = (
    "552",
    "Pesan tidak terkirim: kotak surat penerima penuh (552 5.2.2). "
    "Coba hubungi pelanggan lewat WhatsApp.",
)

# Addresses are fictitious: emails under .test (RFC 2606), phones in a made-up block.
CONVERSATIONS: tuple[Conversation, ...] = (
    # --- earlier, closed ------------------------------------------------------------------
    wa(
        "Dewi Lestari",
        "0812-3456-7890",
        ago(days=13, hours=5),
        Say(0, "Kak mau order daster batik cap yg motif parang 2 ya, ukuran allsize"),
        Assign(6, "budi", "budi"),
        Reply(
            3,
            "budi",
            "Halo Kak Dewi 😊 Daster parang allsize ready. Totalnya Rp190.000 + "
            "ongkir. Boleh kirim alamat lengkapnya kak?",
        ),
        Say(12, "Jl. Kaliurang km 7, Gg. Mawar no 12, Sleman. Atas nama Dewi ya"),
        Reply(
            5,
            "budi",
            "Siap kak, ongkir JNE REG Rp10.000 jadi totalnya Rp200.000. Transfer ke "
            "BCA 0372 118 899 a.n. Toko Batik Sari ya kak 🙏",
        ),
        Say(40, "Udah tf ya kak"),
        Reply(8, "budi", "Sudah masuk kak, terima kasih! Besok pagi kami kirim 🙏"),
        tags(1, "budi", "order baru"),
        SetStatus(2, "solved", "budi"),
        SetStatus(4320, "closed", None),
    ),
    wa(
        "Ahmad Fauzi",
        "0896-1234-0021",
        ago(days=12, hours=2),
        Say(
            0,
            "PROMO!!! Jasa followers IG & TikTok murah 1000 followers cuma 15rb, real aktif. "
            "Minat kak?",
        ),
        Note(20, "joko", "Spam, tidak perlu dibalas."),
        tags(1, "joko", "spam"),
        SetStatus(1, "closed", "joko"),
    ),
    mail(
        "Susi Susanti",
        "susi.susanti@contoh.test",
        "Lamaran kerja admin online shop",
        ago(days=11, hours=8),
        Say(
            0,
            "Selamat pagi Bapak/Ibu,\n\nSaya Susi, lulusan SMK jurusan pemasaran, ingin "
            "melamar sebagai admin online shop di Toko Batik Sari. CV saya lampirkan di email "
            "berikutnya.\n\nTerima kasih,\nSusi Susanti",
        ),
        Reply(
            95,
            "sari",
            "Selamat siang Mbak Susi,\n\nTerima kasih atas minatnya. Saat ini "
            "lowongan admin sudah terisi, tapi data Mbak kami simpan untuk kesempatan "
            "berikutnya.\n\nSalam,\nSari — Toko Batik Sari",
        ),
        SetStatus(3, "solved", "sari"),
        SetStatus(4320, "closed", None),
    ),
    wa(
        "Reza Pahlevi",
        "0813-9087-1122",
        ago(days=10, hours=20),
        Say(0, "Min refund saya gimana? Barangnya udah sy balikin dari minggu lalu"),
        Assign(15, "wati", "joko"),
        MoveTeam(0, SHIPPING, "joko"),
        Reply(
            10,
            "wati",
            "Halo Kak Reza, mohon maaf menunggu. Paket retur sudah kami terima "
            "kemarin. Refund Rp175.000 kami proses hari ini ke rekening BRI yang kakak "
            "kirim ya.",
        ),
        Say(30, "Oke kak ditunggu"),
        Reply(
            180,
            "wati",
            "Refund sudah kami transfer ya kak, bukti transfernya menyusul. "
            "Terima kasih sudah sabar 🙏",
        ),
        Say(20, "Udah masuk kak, makasih"),
        tags(1, "wati", "refund", "retur"),
        SetStatus(1, "solved", "wati"),
        SetStatus(4320, "closed", None),
    ),
    mail(
        "Budi Hartono",
        "budi.hartono@contoh.test",
        "Retur kemeja batik salah warna",
        ago(days=10, hours=3),
        Say(
            0,
            "Halo,\n\nSaya pesan kemeja batik warna biru dongker (order BS-2405122), tapi "
            "yang datang warna hitam. Bisa ditukar?\n\nTerima kasih,\nBudi",
        ),
        Reply(
            50,
            "rina",
            "Halo Pak Budi,\n\nMohon maaf atas kesalahan kami. Silakan kirim "
            "kembali kemejanya ke alamat toko, ongkir kami ganti. Kemeja biru dongker kami "
            "kirim begitu paket retur sampai.\n\nSalam,\nRina",
        ),
        Say(240, "Baik, sudah saya kirim via J&T resi JT7788123450."),
        Reply(30, "rina", "Terima kasih Pak, kami pantau resinya."),
        tags(1, "rina", "retur", "salah kirim"),
        SetStatus(1440, "solved", "rina"),
        SetStatus(4320, "closed", None),
    ),
    wa(
        "Winda Sari",
        "0857-2233-4455",
        ago(days=9, hours=6),
        Say(0, "Kak paketnya udah sampe, batiknya cantik banget 😍 makasih ya"),
        Reply(7, "dimas", "Alhamdulillah, terima kasih Kak Winda! Ditunggu order berikutnya 😊"),
        tags(1, "dimas", "testimoni"),
        SetStatus(1, "solved", "dimas"),
        SetStatus(4320, "closed", None),
    ),
    wa(
        "Bagus Wicaksono",
        "0878-3344-5566",
        ago(days=8, hours=22),
        Say(0, "Permisi, tokonya bisa didatangi langsung ga? Alamatnya di mana ya"),
        Reply(
            11,
            "budi",
            "Bisa kak 😊 Toko kami di Jl. Prawirotaman No. 27, Mergangsan, "
            "Yogyakarta. Buka setiap hari jam 09.00-20.00.",
        ),
        Say(5, "Siap makasih min"),
        SetStatus(2, "solved", "budi"),
        SetStatus(4320, "closed", None),
    ),
    mail(
        "Lukman Hakim",
        "lukman@studiokreatif.test",
        "Tawaran kerja sama endorse",
        ago(days=8, hours=4),
        Say(
            0,
            "Halo tim Batik Sari,\n\nKami agensi influencer dari Jakarta dengan 40+ talent "
            "fashion. Kami menawarkan paket endorse mulai Rp2,5 juta per posting.\n\nSalam,\n"
            "Lukman",
        ),
        Note(
            60,
            "joko",
            "Bu Sari, ini mau ditindaklanjuti? Budget promosi bulan ini sudah habis kan?",
        ),
        Note(45, "sari", "Belum dulu, tolong dibalas dengan sopan."),
        Reply(
            20,
            "joko",
            "Halo Mas Lukman,\n\nTerima kasih tawarannya. Untuk saat ini kami "
            "belum ada rencana endorse, nanti kami hubungi lagi bila ada.\n\nSalam,\nJoko",
        ),
        SetStatus(1, "solved", "joko"),
        SetStatus(4320, "closed", None),
    ),
    wa(
        "Tari Wulandari",
        "0812-7788-9900",
        ago(days=7, hours=9),
        Say(0, "Kak sy transfer kelebihan 50rb td, harusnya 235rb malah 285rb"),
        Reply(14, "budi", "Halo Kak Tari, kami cek dulu ya 🙏"),
        Note(3, "budi", "Mutasi BCA: masuk Rp285.000 jam 10.12 dari TARI W. Kelebihan Rp50.000."),
        Reply(
            6,
            "budi",
            "Betul kak, kelebihan Rp50.000. Mau kami kembalikan ke rekening, atau "
            "jadi saldo untuk order berikutnya?",
        ),
        Say(25, "Jadi saldo aja kak"),
        Reply(4, "budi", "Siap, sudah kami catat sebagai saldo atas nama Kak Tari ya 😊"),
        tags(1, "budi", "pembayaran"),
        SetStatus(1, "solved", "budi"),
        SetStatus(4320, "closed", None),
    ),
    mail(
        "Oktaviani",
        "okta.viani@contoh.test",
        "Pertanyaan bahan kain batik tulis",
        ago(days=6, hours=10),
        Say(
            0,
            "Selamat sore,\n\nKain batik tulis motif kawung itu bahannya katun primisima "
            "atau sutra? Apakah warnanya luntur kalau dicuci?\n\nTerima kasih.",
        ),
        Reply(
            70,
            "dimas",
            "Selamat sore Kak Okta,\n\nBatik tulis kawung kami memakai katun "
            "primisima dengan pewarna alam. Cuci pertama sebaiknya manual dengan lerak, "
            "jangan direndam lama, dan jemur di tempat teduh.\n\nSalam,\nDimas",
        ),
        Say(120, "Baik, terima kasih infonya."),
        SetStatus(5, "solved", "dimas"),
        SetStatus(2880, "closed", None),
    ),
    # --- solved -----------------------------------------------------------------------------
    wa(
        "Mega Wati",
        "0813-2211-3344",
        ago(days=6, hours=2),
        Say(0, "Kak pesanan BS-2405301 udah dikirim belum ya?"),
        Assign(9, "rina", "joko"),
        MoveTeam(0, SHIPPING, "joko"),
        Reply(
            4,
            "rina",
            "Halo Kak Mega, sudah dikirim kemarin sore via SiCepat, resi 004118273645 ya kak 😊",
        ),
        Say(15, "Oke makasih kak"),
        tags(1, "rina", "status pesanan"),
        SetStatus(1, "solved", "rina"),
    ),
    wa(
        "Irfan Hakim",
        "0858-7766-5544",
        ago(days=5, hours=19),
        Say(0, "Kemeja batik lengan panjang motif sekar jagad size XL ada kak?"),
        Reply(6, "dimas", "Ada kak, tinggal 2 pcs 😊 Harganya Rp245.000."),
        Say(3, "Ok kak nanti sore sy order lewat shopee aja ya"),
        Reply(2, "dimas", "Siap kak, ditunggu 🙏"),
        SetStatus(1, "solved", "dimas"),
    ),
    mail(
        "Sari Indah",
        "sari.indah@contoh.test",
        "Minta invoice pesanan BS-2405290",
        ago(days=5, hours=7),
        Say(
            0,
            "Halo,\n\nMohon dikirimkan invoice untuk pesanan BS-2405290 atas nama PT Indah "
            "Lestari, untuk keperluan reimburse kantor.\n\nTerima kasih,\nSari Indah",
        ),
        Assign(40, "budi", "joko"),
        MoveTeam(0, SALES, "joko"),
        Reply(
            25,
            "budi",
            "Halo Kak Sari Indah,\n\nInvoice atas nama PT Indah Lestari untuk "
            "pesanan BS-2405290 sudah kami buat dan kami kirim ke email ini. Semoga "
            "membantu.\n\nSalam,\nBudi",
        ),
        Say(60, "Sudah saya terima, terima kasih banyak."),
        tags(1, "budi", "invoice"),
        SetStatus(1, "solved", "budi"),
    ),
    wa(
        "Dodi Kurniawan",
        "0812-4455-6677",
        ago(days=4, hours=23),
        Say(0, "Min udah transfer ya 320rb buat order outer batik 2pcs"),
        Reply(
            18,
            "budi",
            "Terima kasih Kak Dodi, pembayaran sudah kami terima 🙏 Pesanan dikirim besok pagi.",
        ),
        tags(1, "budi", "pembayaran"),
        SetStatus(1, "solved", "budi"),
    ),
    wa(
        "Anisa Rahma",
        "0857-9911-2233",
        ago(days=4, hours=8),
        Say(0, "Kak mau retur rok lilit, ukurannya kekecilan. Bisa?"),
        MoveTeam(10, SHIPPING, "joko"),
        Assign(0, "wati", "joko"),
        Reply(
            5,
            "wati",
            "Bisa kak 😊 Selama label masih terpasang, rok bisa ditukar ukuran. "
            "Kirim ke Jl. Prawirotaman No. 27 Yogyakarta ya, cantumkan nomor pesanan.",
        ),
        Say(60, "Udah sy kirim kak, resi JNE 0102 5566 7788"),
        Reply(10, "wati", "Terima kasih kak, begitu sampai kami kirim ukuran L ya."),
        tags(1, "wati", "retur", "tukar ukuran"),
        SetStatus(1, "solved", "wati"),
    ),
    mail(
        "Purnomo Adi",
        "purnomo.adi@contoh.test",
        "Terima kasih, batiknya bagus sekali",
        ago(days=3, hours=21),
        Say(
            0,
            "Selamat malam,\n\nKemeja batik tulis yang saya pesan untuk acara nikahan "
            "anak saya sudah sampai. Jahitannya rapi dan warnanya persis seperti di foto. "
            "Terima kasih Batik Sari!\n\nSalam hangat,\nPurnomo",
        ),
        Reply(
            600,
            "sari",
            "Selamat pagi Pak Purnomo,\n\nTerima kasih banyak atas kabar "
            "baiknya. Selamat untuk pernikahan putra/putri Bapak, semoga sakinah mawaddah "
            "warahmah.\n\nSalam,\nSari — pemilik Toko Batik Sari",
        ),
        tags(1, "sari", "testimoni"),
        SetStatus(1, "solved", "sari"),
    ),
    wa(
        "Yusuf Maulana",
        "0878-1212-3434",
        ago(days=3, hours=6),
        Say(0, "Bisa COD ga kak?"),
        Reply(
            9,
            "dimas",
            "Mohon maaf kak, untuk saat ini belum bisa COD 🙏 Pembayaran lewat "
            "transfer BCA/BRI atau QRIS ya.",
        ),
        Say(4, "Oke deh kak"),
        SetStatus(2, "solved", "dimas"),
    ),
    wa(
        "Wahyu Hidayat",
        "0813-5656-7878",
        ago(days=2, hours=22),
        Say(0, "Kak kemeja yg sy terima size M, padahal pesennya L 😅"),
        MoveTeam(7, SHIPPING, "joko"),
        Assign(0, "rina", "joko"),
        Reply(
            8,
            "rina",
            "Mohon maaf Kak Wahyu 🙏 Kami kirim size L hari ini, kurir akan "
            "sekalian ambil size M-nya. Ongkir kami tanggung.",
        ),
        Say(30, "Sip kak, makasih responnya cepet"),
        tags(1, "rina", "salah kirim"),
        SetStatus(1, "solved", "rina"),
    ),
    mail(
        "Nanda Safitri",
        "nanda.safitri@contoh.test",
        "Alamat pengiriman salah",
        ago(days=2, hours=14),
        Say(
            0,
            "Halo kak,\n\nSaya salah tulis alamat di pesanan BS-2406044. Harusnya "
            "Jl. Magelang km 5 No. 9, bukan No. 19. Belum dikirim kan?\n\nNanda",
        ),
        Reply(
            15,
            "wati",
            "Halo Kak Nanda,\n\nBelum dikirim kok, alamat sudah kami ganti ke "
            "Jl. Magelang km 5 No. 9.\n\nSalam,\nWati",
        ),
        Say(30, "Terima kasih kak!"),
        tags(1, "wati", "pengiriman"),
        SetStatus(1, "solved", "wati"),
    ),
    wa(
        "Eka Putri",
        "0812-8080-9090",
        ago(days=2, hours=4),
        Say(0, "Kak ada kode promo ga buat pembelian pertama?"),
        Reply(
            12,
            "budi",
            "Ada kak 😊 Pakai kode SARIBARU untuk potongan 10% pembelian "
            "pertama, berlaku sampai akhir bulan.",
        ),
        Say(6, "Asiik makasih kak"),
        tags(1, "budi", "promo"),
        SetStatus(1, "solved", "budi"),
    ),
    wa(
        "Gilang Ramadhan",
        "0857-1313-1414",
        ago(days=1, hours=20),
        Say(0, "Halo??"),
        Say(25, "Kok ga dibales2 sih min, dari kemarin nanya stok ga ada jawaban 😤"),
        SetPriority(8, "high", "joko"),
        Assign(0, "joko", "joko"),
        Reply(
            2,
            "joko",
            "Mohon maaf sekali Kak Gilang atas keterlambatan balasan kami 🙏 "
            "Kakak menanyakan stok apa? Saya bantu cek sekarang.",
        ),
        Say(5, "Batik cap mega mendung yg biru, size L"),
        Reply(
            3,
            "joko",
            "Ready kak, Rp185.000. Sebagai permohonan maaf, ongkirnya kami gratiskan ya 😊",
        ),
        Say(10, "Oke kak sy order"),
        Note(2, "joko", "Pesanan dialihkan ke Budi untuk diproses, ongkir gratis sudah disetujui."),
        tags(1, "joko", "komplain", "respons lambat"),
        SetStatus(1, "solved", "joko"),
    ),
    mail(
        "Tuti Alawiyah",
        "tuti.alawiyah@contoh.test",
        "Pre-order batik tulis untuk seragam",
        ago(days=1, hours=17),
        Say(
            0,
            "Assalamualaikum,\n\nApakah bisa pre-order batik tulis 12 potong motif yang "
            "sama untuk seragam arisan keluarga? Kira-kira berapa lama jadinya?\n\nWassalam,\n"
            "Tuti",
        ),
        MoveTeam(30, SALES, "joko"),
        Assign(0, "dimas", "joko"),
        Reply(
            40,
            "dimas",
            "Waalaikumsalam Bu Tuti,\n\nBisa Bu. Untuk 12 potong batik tulis "
            "waktu pengerjaan sekitar 3-4 minggu, DP 50%. Katalog motif kami lampirkan di "
            "email terpisah.\n\nSalam,\nDimas",
        ),
        Say(300, "Baik, saya diskusikan dulu dengan keluarga. Terima kasih."),
        tags(1, "dimas", "pre-order"),
        SetStatus(2, "solved", "dimas"),
    ),
    wa(
        "Maya Sofia",
        "0812-6060-7070",
        ago(days=1, hours=10),
        Say(0, "Kak pesananku BS-2406071 udah dikirim?"),
        Reply(10, "budi", "Sudah kak, via JNE resi 0115 2233 4455 😊"),
        Say(4, "Makasih kak. Notanya bisa dikirim ke email maya.sofia@contoh.test?"),
        Reply(6, "budi", "Bisa kak, kami kirim ke email ya."),
        SetStatus(1, "solved", "budi"),
    ),
    mail(
        "Maya Sofia",
        "maya.sofia@contoh.test",
        "Nota pembelian BS-2406071",
        ago(days=1, hours=9),
        Say(
            0,
            "Halo kak, ini Maya yang tadi chat di WhatsApp. Saya tunggu notanya di email "
            "ini ya. Makasih!",
        ),
        Reply(
            20,
            "budi",
            "Halo Kak Maya,\n\nBerikut nota pembelian BS-2406071. Terima kasih "
            "sudah belanja di Batik Sari!\n\nSalam,\nBudi",
        ),
        MergeInto(2, "budi", "0812-6060-7070"),
        Note(1, "budi", "Kontak WhatsApp dan email Kak Maya digabung jadi satu pelanggan."),
        SetStatus(1, "solved", "budi"),
    ),
    # --- pending (waiting on the customer) ------------------------------------------------
    wa(
        "Lina Marlina",
        "0813-4747-5858",
        ago(days=3, hours=2),
        Say(0, "Kak mau retur blus encim, jahitannya lepas di bagian ketiak"),
        MoveTeam(12, SHIPPING, "joko"),
        Assign(0, "wati", "joko"),
        Reply(
            6,
            "wati",
            "Mohon maaf Kak Lina 🙏 Boleh kirim nomor pesanan dan foto bagian "
            "yang lepas? Nanti kami proses tukar barang.",
        ),
        tags(1, "wati", "retur", "komplain"),
        SetStatus(1, "pending", "wati"),
    ),
    wa(
        "Dani Firmansyah",
        "0858-3030-4040",
        ago(days=2, hours=7),
        Say(0, "Sudah transfer kak buat pesanan BS-2406052"),
        Reply(
            20,
            "budi",
            "Halo Kak Dani, di mutasi kami belum ada transfer untuk BS-2406052. "
            "Boleh kirim foto bukti transfernya kak?",
        ),
        Note(1, "budi", "Cek mutasi BCA & BRI jam 09.00-11.00: tidak ada nominal Rp265.000."),
        tags(1, "budi", "pembayaran"),
        SetStatus(1, "pending", "budi"),
    ),
    mail(
        "Bambang Sutrisno",
        "bambang.s@contoh.test",
        "Pengembalian dana pesanan batal",
        ago(days=2, hours=1),
        Say(
            0,
            "Selamat siang,\n\nPesanan saya BS-2406039 dibatalkan karena stok habis. "
            "Bagaimana pengembalian dananya?\n\nBambang",
        ),
        Assign(35, "rina", "joko"),
        Reply(
            10,
            "rina",
            "Selamat siang Pak Bambang,\n\nMohon maaf atas ketidaknyamanannya. "
            "Mohon kirimkan nomor rekening dan nama pemilik rekening untuk pengembalian "
            "dana Rp310.000.\n\nSalam,\nRina",
        ),
        tags(1, "rina", "refund"),
        SetStatus(1, "pending", "rina"),
    ),
    wa(
        "Sinta Dewi",
        "0878-6565-7575",
        ago(days=1, hours=23),
        Say(0, "Kak order selendang sutra 1 ya, kirim ke Semarang"),
        Reply(9, "dimas", "Siap kak 😊 Boleh minta alamat lengkap dan nomor HP penerima?"),
        Say(40, "Jl. Pandanaran"),
        Reply(5, "dimas", "Nomor rumah dan kelurahannya kak? Supaya kurir tidak nyasar 🙏"),
        SetStatus(1, "pending", "dimas"),
    ),
    wa(
        "Herman Susanto",
        "0812-9191-8282",
        ago(days=1, hours=15),
        Say(0, "Ongkir ke Balikpapan utk 3 kemeja berapa min?"),
        Reply(
            16,
            "budi",
            "Halo Kak Herman, untuk 3 kemeja (±1 kg) ke Balikpapan: JNE REG "
            "Rp52.000 (3-4 hari), J&T Rp48.000. Mau lanjut order kak?",
        ),
        SetStatus(1, "pending", "budi"),
    ),
    mail(
        "Ayu Lestari",
        "ayu.lestari@contoh.test",
        "Tukar motif kain",
        ago(days=1, hours=6),
        Say(0, "Halo, kain yang saya terima motif truntum, boleh ditukar motif lain?\n\nAyu"),
        Reply(
            45,
            "wati",
            "Halo Kak Ayu,\n\nBoleh kak. Motif apa yang diinginkan? Yang ready "
            "saat ini: parang, kawung, sekar jagad, dan sidomukti.\n\nSalam,\nWati",
        ),
        Reply(
            1440,
            "wati",
            "Halo Kak Ayu, kami menunggu kabar motif pilihannya ya 😊",
            fail=MAILBOX_FULL,
        ),
        tags(1, "wati", "tukar barang"),
        SetStatus(1, "pending", "wati"),
    ),
    wa(
        "Rahmat Hidayat",
        "0857-5050-6060",
        ago(days=1, hours=2),
        Say(0, "Paket saya hilang kak?? Resi JX3349001122 udah seminggu ga gerak"),
        MoveTeam(5, SHIPPING, "joko"),
        Assign(0, "rina", "joko"),
        SetPriority(0, "high", "joko"),
        Reply(
            4,
            "rina",
            "Mohon maaf Kak Rahmat 🙏 Kami sudah ajukan klaim ke J&T. Biasanya "
            "1-3 hari kerja, kami kabari secepatnya ya.",
        ),
        Note(
            2,
            "rina",
            "Klaim J&T no. CLM-889201. Kalau lewat Jumat belum ada kabar, kirim "
            "ulang saja (disetujui Pak Joko).",
        ),
        tags(1, "rina", "pengiriman", "paket hilang"),
        SetStatus(1, "pending", "rina"),
    ),
    wa(
        "Kartika Sari",
        "0813-8383-9393",
        ago(hours=20),
        Say(0, "Kak mau daftar jadi reseller, syaratnya apa aja?"),
        Assign(14, "joko", "joko"),
        Reply(
            3,
            "joko",
            "Halo Kak Kartika 😊 Syaratnya: minimal order 10 pcs campur, diskon "
            "25%. Boleh kirim nama toko dan kota kakak?",
        ),
        tags(1, "joko", "reseller"),
        SetStatus(1, "pending", "joko"),
    ),
    mail(
        "Diana Puspita",
        "diana.puspita@contoh.test",
        "Order 5 pcs blus encim",
        ago(hours=17),
        Say(
            0,
            "Selamat pagi,\n\nSaya mau pesan blus batik encim 5 pcs: 2 ukuran M, 3 "
            "ukuran L, warna bebas. Total berapa ya?\n\nDiana",
        ),
        MoveTeam(25, SALES, "joko"),
        Assign(0, "dimas", "joko"),
        Reply(
            15,
            "dimas",
            "Selamat pagi Kak Diana,\n\nTotal 5 blus encim Rp875.000. Mohon "
            "kirim alamat pengiriman agar kami hitung ongkirnya.\n\nSalam,\nDimas",
        ),
        tags(1, "dimas", "order baru"),
        SetStatus(1, "pending", "dimas"),
    ),
    wa(
        "Taufik Hidayat",
        "0878-2424-3535",
        ago(hours=9),
        Say(0, "Kak resinya kok ga bisa dilacak ya"),
        MoveTeam(6, SHIPPING, "joko"),
        Assign(0, "wati", "joko"),
        Reply(
            3,
            "wati",
            "Halo Kak Taufik, paket baru di-pickup kurir sore ini, resinya biasanya "
            "aktif besok pagi ya 🙏 Kabari kalau besok masih belum bisa.",
        ),
        SetStatus(1, "pending", "wati"),
    ),
    # --- open: we are on it ---------------------------------------------------------------
    wa(
        "Fajar Nugroho",
        "0812-1010-2020",
        ago(days=2, hours=3),
        Say(0, "Kak yang kemeja batik kombinasi polos ada size XXL?"),
        Note(
            1900,
            "budi",
            "Jendela 24 jam sudah tutup, pesan biasa tidak bisa dikirim. Kirim template "
            '"lanjutkan_percakapan" dulu, stok XXL dijawab setelah Kak Fajar membalas.',
        ),
        Reply(
            2,
            "budi",
            "Halo Kak Fajar, kami sudah membalas pertanyaan Kakak soal tiket kemeja XXL. "
            "Balas pesan ini untuk melanjutkan percakapan.",
            template=("lanjutkan_percakapan", "Kak Fajar", "kemeja XXL"),
        ),
        tags(1, "budi", "stok"),
    ),
    mail(
        "Maria Ulfa",
        "maria.ulfa@contoh.test",
        "Pesanan belum diterima",
        ago(days=1, hours=12),
        Say(
            0,
            "Selamat siang,\n\nPesanan BS-2406060 sudah 6 hari belum saya terima. Mohon "
            "bantuannya.\n\nMaria",
        ),
        Assign(50, "rina", "joko"),
        Reply(
            10,
            "rina",
            "Selamat siang Kak Maria,\n\nMenurut pelacakan SiCepat, paket "
            "tertahan di gudang Surabaya karena banjir. Kami terus pantau.\n\nSalam,\nRina",
        ),
        Say(600, "Sampai sekarang belum sampai juga. Apa bisa dikirim ulang saja?"),
        tags(1, "rina", "pengiriman"),
    ),
    wa(
        "Dewi Lestari",
        "0812-3456-7890",
        ago(hours=23),
        Say(0, "Kak, pesanan saya BS-2406101 udah dikirim belum ya? Udah 3 hari nih"),
        MoveTeam(20, SHIPPING, "joko"),
        Assign(0, "wati", "joko"),
        Reply(6, "wati", "Halo Kak Dewi 😊 Sudah dikirim kemarin via JNE, resi 0115 4433 2211."),
        Say(180, "Kok statusnya masih manifest ya kak dari kemarin?"),
        tags(1, "wati", "status pesanan"),
    ),
    wa(
        "Hadi Kusuma",
        "0857-6767-8989",
        ago(hours=22),
        Say(0, "Kak batiknya luntur pas dicuci pertama kali 😞 kena baju lain juga"),
        SetPriority(10, "high", "joko"),
        MoveTeam(0, SHIPPING, "joko"),
        Assign(0, "wati", "joko"),
        Reply(
            5,
            "wati",
            "Mohon maaf sekali Kak Hadi 🙏 Boleh kirim foto batiknya dan nomor pesanannya?",
        ),
        Say(45, "BS-2406081. Fotonya warna merahnya pudar kak, bajuku yg putih jadi pink"),
        Note(
            6, "wati", "Kemungkinan dari batch pewarna bulan lalu. Sudah saya tanyakan ke konveksi."
        ),
        tags(1, "wati", "komplain", "kualitas"),
    ),
    mail(
        "Teguh Santoso",
        "teguh@tokoteguh.test",
        "Permintaan katalog reseller",
        ago(hours=20),
        Say(
            0,
            "Selamat pagi,\n\nSaya punya toko pakaian di Solo. Mohon kirimkan katalog dan "
            "harga reseller.\n\nTeguh",
        ),
        MoveTeam(40, SALES, "joko"),
        Assign(0, "joko", "joko"),
        Reply(
            10,
            "joko",
            "Selamat pagi Pak Teguh,\n\nKatalog terbaru kami lampirkan. Harga "
            "reseller diskon 25% dengan minimal 10 pcs per order.\n\nSalam,\nJoko",
        ),
        Say(200, "Terima kasih. Apakah bisa sistem konsinyasi untuk order pertama?"),
        tags(1, "joko", "reseller"),
    ),
    wa(
        "Wulan Dari",
        "0813-1717-2828",
        ago(hours=16),
        Say(0, "Kak bisa tukar ukuran? Kemejanya kebesaran buat suami"),
        MoveTeam(8, SHIPPING, "joko"),
        Assign(0, "rina", "joko"),
        Reply(5, "rina", "Bisa kak 😊 Mau ditukar ke ukuran berapa?"),
        Say(30, "Dari XL ke L kak"),
        tags(1, "rina", "tukar ukuran"),
    ),
    mail(
        "Indah Permatasari",
        "indah.permata@contoh.test",
        "Komplain: barang datang rusak",
        ago(hours=14),
        Say(
            0,
            "Selamat siang,\n\nPaket saya datang dalam keadaan basah dan kainnya ada noda "
            "jamur. Ini sangat mengecewakan karena untuk kado.\n\nIndah",
        ),
        SetPriority(15, "urgent", "joko"),
        Assign(0, "rina", "joko"),
        Reply(
            10,
            "rina",
            "Selamat siang Kak Indah,\n\nKami mohon maaf sebesar-besarnya. Boleh "
            "kirimkan foto kain dan kemasannya? Kami siapkan pengganti secepatnya.\n\n"
            "Salam,\nRina",
        ),
        Say(
            90,
            "Fotonya sudah saya kirim lewat email sebelumnya. Tolong secepatnya ya, "
            "acaranya Sabtu.",
        ),
        Note(
            5, "rina", "Stok pengganti motif sama ada 1. Bisa kirim pakai SiCepat BEST besok pagi."
        ),
        tags(1, "rina", "komplain", "barang rusak"),
    ),
    wa(
        "Galih Prakoso",
        "0858-4848-5959",
        ago(hours=11),
        Say(0, "Kak mau pesan batik seragam keluarga buat nikahan 20 pcs, bisa custom warna?"),
        Assign(9, "dimas", "dimas"),
        Reply(
            4,
            "dimas",
            "Bisa kak 😊 Untuk 20 pcs bisa custom warna batik cap, pengerjaan "
            "±2 minggu. Untuk tanggal berapa acaranya kak?",
        ),
        Say(20, "Tgl 21 bulan depan kak. Harganya per pcs berapa?"),
        Note(3, "dimas", "@Bu Sari minta harga grosir 20 pcs batik cap custom warna."),
        tags(1, "dimas", "seragam", "order besar"),
    ),
    wa(
        "Sri Wahyuni",
        "0813-3636-4646",
        ago(hours=8),
        Say(0, "Kak pesenan saya kurang 1 item, selendangnya ga ada di paket"),
        MoveTeam(7, SHIPPING, "joko"),
        Assign(0, "wati", "joko"),
        Reply(4, "wati", "Mohon maaf Kak Sri 🙏 Kami cek rekaman packing dulu ya."),
        Say(15, "Iya kak ditunggu"),
        tags(1, "wati", "salah kirim"),
    ),
    mail(
        "Yoga Aditya",
        "yoga.aditya@contoh.test",
        "Konfirmasi transfer Mandiri",
        ago(hours=7),
        Say(
            0,
            "Halo,\n\nSaya sudah transfer Rp450.000 dari Mandiri untuk pesanan BS-2406109. "
            "Mohon dicek.\n\nYoga",
        ),
        MoveTeam(20, SALES, "joko"),
        Assign(0, "budi", "joko"),
        Reply(
            10,
            "budi",
            "Halo Kak Yoga,\n\nTerima kasih, transfer sudah kami terima. "
            "Pesanan dikirim besok pagi, resi kami kabari.\n\nSalam,\nBudi",
        ),
        tags(1, "budi", "pembayaran"),
    ),
    wa(
        "Novi Anggraini",
        "0878-9797-1515",
        ago(hours=6),
        Say(0, "Kak resi pesanan BS-2406087 udah ada?"),
        MoveTeam(4, SHIPPING, "joko"),
        Assign(0, "rina", "joko"),
        Reply(3, "rina", "Sudah kak, JNE 0115 7788 9900 😊"),
        Say(2, "Makasih kak"),
    ),
    wa(
        "Arif Hidayat",
        "0812-5353-6464",
        ago(hours=4),
        Say(0, "Size chart kemeja batik pria gimana kak"),
        Reply(
            6,
            "dimas",
            "M: lingkar dada 104 cm, panjang 70 cm\nL: 110 cm / 72 cm\nXL: 116 cm "
            "/ 74 cm\nXXL: 122 cm / 76 cm",
        ),
        Say(12, "Berarti sy L ya kak, TB 170 BB 68"),
    ),
    mail(
        "Citra Kirana",
        "citra.kirana@contoh.test",
        "Permintaan faktur pajak",
        ago(hours=3),
        Say(
            0,
            "Selamat siang,\n\nMohon dibuatkan faktur pajak untuk pembelian 15 kemeja "
            "batik oleh CV Kirana Jaya, NPWP menyusul.\n\nCitra",
        ),
        MoveTeam(15, SALES, "joko"),
        Assign(0, "joko", "joko"),
        Reply(
            20,
            "joko",
            "Selamat siang Kak Citra,\n\nBaik, faktur pajak kami buatkan "
            "setelah NPWP kami terima.\n\nSalam,\nJoko",
        ),
    ),
    wa(
        "Putri Amelia",
        "0857-8484-9595",
        ago(hours=2),
        Say(0, "Kak sarimbit couple motif truntum size M & L ready?"),
        Reply(5, "dimas", "Ready kak 😊 Sepasang Rp425.000."),
        Say(8, "Oke aku order ya kak, kirim ke Bandung"),
        Say(1, "Alamatnya Jl. Dago 110, Coblong"),
    ),
    wa(
        "Ratna Sari",
        "0813-2929-3939",
        ago(hours=1, minutes=30),
        Say(0, "Kak sudah transfer 510rb ya, ini buat 2 outer + 1 rok"),
        Reply(12, "budi", "Terima kasih Kak Ratna, sudah masuk 🙏 Pesanan kami proses."),
        Say(5, "Kira2 kapan dikirim kak?"),
    ),
    wa(
        "Eko Prasetyo",
        "0878-3131-4242",
        ago(hours=1, minutes=10),
        Say(0, "Kak bisa minta nota buat pesanan kemarin?"),
        Assign(4, "budi", "budi"),
        Reply(3, "budi", "Bisa kak, notanya kami kirim sore ini ya 😊"),
    ),
    # --- new: nobody has answered yet -----------------------------------------------------
    wa(
        "Bayu Saputra",
        "0858-1919-2727",
        ago(hours=5),
        Say(0, "Kak bisa kirim ke luar negeri ga? Ke Malaysia"),
    ),
    mail(
        "Lestari Puspita",
        "lestari.puspita@contoh.test",
        "Retur daster ukuran kekecilan",
        ago(hours=3, minutes=30),
        Say(
            0,
            "Selamat siang,\n\nDaster yang saya terima kekecilan. Apakah bisa ditukar "
            "dengan ukuran jumbo?\n\nTerima kasih,\nLestari",
        ),
    ),
    wa(
        "Rizky Ramadhan",
        "0812-7171-8181",
        ago(hours=2, minutes=10),
        Say(0, "min paket saya kok belum nyampe ya, resi JX2290174456 dr tgl 3"),
        MoveTeam(6, SHIPPING, "joko"),
        tags(0, "joko", "pengiriman"),
    ),
    wa(
        "Yuni Kartika",
        "0813-6262-7373",
        ago(hours=1, minutes=35),
        Say(0, "Halo kak, kain batik tulis motif kawung yg warna sogan masih ada? Harganya brp"),
        Say(2, "Yg 2 meter ya kak"),
    ),
    mail(
        "Hendra Wijaya",
        "hendra.wijaya@contoh.test",
        "Penawaran seragam batik kantor 40 pcs",
        ago(minutes=50),
        Say(
            0,
            "Selamat siang,\n\nKami dari PT Sinar Abadi Yogyakarta berencana memesan 40 "
            "kemeja batik seragam (pria 25, wanita 15) dengan logo bordir. Mohon penawaran "
            "harga dan waktu pengerjaannya.\n\nHormat kami,\nHendra Wijaya\nHRD PT Sinar "
            "Abadi",
        ),
        SetPriority(10, "high", "joko"),
        MoveTeam(0, SALES, "joko"),
        Assign(0, "dimas", "joko"),
    ),
    wa(
        "Siti Nurhaliza",
        "0857-3939-4949",
        ago(minutes=40),
        Say(0, "Assalamualaikum kak, sarimbit couple motif mega mendung masih ada size M sama XL?"),
    ),
    wa(
        "Fitri Handayani",
        "0878-5151-6262",
        ago(minutes=26),
        Say(
            0,
            "Kak sy udah transfer 285.000 ke BCA a.n. Toko Batik Sari jam 10 tadi, order "
            "BS-2406118. Mohon dicek ya 🙏",
        ),
        tags(3, "joko", "pembayaran"),
    ),
    wa(
        "Agus Setiawan",
        "0812-2323-4545",
        ago(minutes=13),
        Say(0, "Permisi min, mau tanya ongkir ke Makassar berapa ya? Beli 3 daster"),
    ),
    mail(
        "Andi Pratama",
        "andi.pratama@contoh.test",
        "Konfirmasi pembayaran BS-2406121",
        ago(minutes=8),
        Say(
            0,
            "Halo,\n\nSaya sudah membayar pesanan BS-2406121 lewat QRIS sebesar "
            "Rp390.000.\n\nSalam,\nAndi",
        ),
    ),
    wa(
        "Nur Aini",
        "0857-1122-3344",
        ago(minutes=3),
        Say(0, "Kak, kemeja batik parang ukuran L ready?"),
        Say(1, "Kalau ready mau order 2 ya"),
    ),
)

# A mail that could not be read (no sender): stored, failed, listed for admins, replayable.
BROKEN_MAIL = (
    b"Subject: =?utf-8?q?Pesanan_saya?=\r\n"
    b"Date: Mon, 3 Jun 2024 09:12:00 +0700\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"Halo, ini pesan tanpa alamat pengirim.\r\n"
)
