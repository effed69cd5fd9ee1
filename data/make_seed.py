"""Generate the lab's seed data: data/users.csv, data/products.csv, data/orders.csv.

Run once (``python data/make_seed.py``); the CSVs it writes are checked in.
The output is deterministic: the same script always writes byte-identical files
(``random.Random(2026)``, stdlib only, every name list is written out below).

The rows are invented. Any resemblance of a generated name to a real person
is a coincidence of combining common first and last names.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path

SEED = 2026
N_USERS = 2000
N_PRODUCTS = 500
N_ORDERS = 5000
OUT_DIR = Path(__file__).resolve().parent

FIRST_NAMES = [
    "Ada", "Alan", "Amara", "Ana", "Andrei", "Anika", "Arjun", "Aya", "Ben", "Bianca",
    "Carlos", "Chen", "Chloe", "Dara", "David", "Diego", "Elena", "Emeka", "Emma", "Farah",
    "Felix", "Freya", "Grace", "Hana", "Hassan", "Ibrahim", "Ines", "Isaac", "Ivan", "Jade",
    "James", "Jin", "Jonas", "Julia", "Kai", "Kenji", "Kofi", "Lara", "Leila", "Leo",
    "Liam", "Lina", "Lucas", "Mai", "Marco", "Maria", "Mateo", "Maya", "Mei", "Nadia",
    "Nia", "Noah", "Nora", "Olga", "Omar", "Oscar", "Priya", "Rafael", "Rosa", "Ravi",
    "Sakura", "Sam", "Sara", "Sofia", "Tariq", "Theo", "Tomas", "Uma", "Vera", "Wei",
    "Yara", "Yusuf", "Zara", "Zoe",
]
LAST_NAMES = [
    "Abe", "Adeyemi", "Almeida", "Andersson", "Bauer", "Becker", "Bianchi", "Brown", "Castro",
    "Chen", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Gomez", "Gupta", "Haddad",
    "Hansen", "Ito", "Jansen", "Kim", "Kowalski", "Kumar", "Larsen", "Lee", "Lopez", "Martin",
    "Meyer", "Mensah", "Moreau", "Muller", "Nakamura", "Nguyen", "Novak", "Okafor", "Olsen",
    "Park", "Patel", "Petrov", "Popescu", "Rossi", "Santos", "Schmidt", "Silva", "Singh",
    "Smith", "Suzuki", "Tanaka", "Taylor", "Torres", "Wagner", "Wang", "Weber", "Wilson",
    "Yamamoto", "Yilmaz", "Zhang",
]
# (city, country)
CITIES = [
    ("Amsterdam", "Netherlands"), ("Austin", "United States"), ("Bangalore", "India"),
    ("Barcelona", "Spain"), ("Berlin", "Germany"), ("Bogota", "Colombia"),
    ("Buenos Aires", "Argentina"), ("Cape Town", "South Africa"), ("Chicago", "United States"),
    ("Dublin", "Ireland"), ("Helsinki", "Finland"), ("Istanbul", "Turkey"),
    ("Jakarta", "Indonesia"), ("Lagos", "Nigeria"), ("Lisbon", "Portugal"),
    ("London", "United Kingdom"), ("Madrid", "Spain"), ("Melbourne", "Australia"),
    ("Mexico City", "Mexico"), ("Milan", "Italy"), ("Montreal", "Canada"),
    ("Mumbai", "India"), ("Nairobi", "Kenya"), ("New York", "United States"),
    ("Osaka", "Japan"), ("Paris", "France"), ("Prague", "Czechia"), ("Seoul", "South Korea"),
    ("Singapore", "Singapore"), ("Sao Paulo", "Brazil"), ("Stockholm", "Sweden"),
    ("Sydney", "Australia"), ("Tokyo", "Japan"), ("Toronto", "Canada"), ("Warsaw", "Poland"),
    ("Zurich", "Switzerland"),
]
EMAIL_DOMAINS = ["example.com", "example.org", "example.net", "mail.example.com"]
PLANS = ["free", "pro", "team"]
PLAN_WEIGHTS = [70, 22, 8]
BIO_ROLES = [
    "Backend developer", "Data engineer", "Product designer", "Student", "Site reliability engineer",
    "Hobbyist gamer", "Small shop owner", "Teacher", "Photographer", "Researcher",
    "Mobile developer", "Freelance writer", "Nurse", "Architect", "Musician",
]
BIO_LIKES = [
    "fast pages", "strong coffee", "long bike rides", "mechanical keyboards", "board games",
    "trail running", "clean dashboards", "home cooking", "old synthesizers", "jazz records",
    "indoor plants", "sci-fi novels", "open source", "chess puzzles", "sourdough bread",
]

CATEGORIES = {
    "Books": (["Field Guide", "Cookbook", "Novel", "Handbook", "Atlas", "Workbook"], 900, 4500),
    "Electronics": (["Headphones", "Charger", "Keyboard", "Mouse", "Speaker", "Webcam"], 1500, 25000),
    "Home": (["Mug", "Lamp", "Cushion", "Blanket", "Vase", "Clock"], 800, 9000),
    "Garden": (["Trowel", "Planter", "Hose", "Seed Kit", "Gloves", "Watering Can"], 500, 6000),
    "Sports": (["Yoga Mat", "Water Bottle", "Jump Rope", "Backpack", "Cap", "Dumbbell"], 700, 12000),
    "Toys": (["Puzzle", "Kite", "Robot Kit", "Plush Fox", "Card Game", "Marble Run"], 600, 8000),
    "Kitchen": (["Knife", "Kettle", "Pan", "Grinder", "Cutting Board", "Teapot"], 900, 15000),
    "Office": (["Notebook", "Pen Set", "Desk Tray", "Stapler", "Planner", "Monitor Stand"], 300, 7000),
}
ADJECTIVES = [
    "Classic", "Compact", "Deluxe", "Eco", "Everyday", "Heavy-Duty", "Lightweight", "Mini",
    "Modern", "Pocket", "Pro", "Retro", "Smart", "Sturdy", "Travel", "Ultra",
]
COLORS = ["Black", "Blue", "Coral", "Green", "Grey", "Olive", "Red", "Sand", "Teal", "White"]
ORDER_STATUSES = ["delivered", "shipped", "paid", "pending", "cancelled", "refunded"]
STATUS_WEIGHTS = [55, 15, 12, 8, 6, 4]

START = dt.date(2022, 1, 1)
END = dt.date(2025, 12, 31)


def _date_between(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randint(0, (end - start).days))


def make_users(rng: random.Random) -> list[dict]:
    users = []
    for uid in range(1, N_USERS + 1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        city, country = rng.choice(CITIES)
        email = f"{first.lower()}.{last.lower()}{uid}@{rng.choice(EMAIL_DOMAINS)}"
        bio = f"{rng.choice(BIO_ROLES)} from {city} who likes {rng.choice(BIO_LIKES)}."
        users.append({
            "id": uid,
            "name": f"{first} {last}",
            "email": email,
            "city": city,
            "country": country,
            "plan": rng.choices(PLANS, PLAN_WEIGHTS)[0],
            "created_at": _date_between(rng, START, dt.date(2025, 6, 30)).isoformat(),
            "bio": bio,
        })
    return users


def make_products(rng: random.Random) -> list[dict]:
    products = []
    categories = sorted(CATEGORIES)
    for pid in range(1, N_PRODUCTS + 1):
        category = rng.choice(categories)
        nouns, low, high = CATEGORIES[category]
        noun, adj, color = rng.choice(nouns), rng.choice(ADJECTIVES), rng.choice(COLORS)
        price = rng.randint(low // 10, high // 10) * 10 - 1  # ends in 9, e.g. 1299
        products.append({
            "id": pid,
            "sku": f"{category[:3].upper()}-{pid:05d}",
            "name": f"{adj} {noun} ({color})",
            "category": category,
            "price_cents": price,
            "stock": rng.choice([0, 0, 3, 7]) if rng.random() < 0.1 else rng.randint(10, 500),
            "description": f"A {adj.lower()} {noun.lower()} in {color.lower()}, "
                           f"part of our {category.lower()} range.",
        })
    return products


def make_orders(rng: random.Random, users: list[dict], products: list[dict]) -> list[dict]:
    orders = []
    # A few users and products are much more popular: realistic skew for caching.
    user_weights = [1.0 / (i ** 0.6) for i in range(1, len(users) + 1)]
    rng.shuffle(user_weights)
    product_weights = [1.0 / (i ** 0.8) for i in range(1, len(products) + 1)]
    rng.shuffle(product_weights)
    for oid in range(1, N_ORDERS + 1):
        user = rng.choices(users, user_weights)[0]
        product = rng.choices(products, product_weights)[0]
        quantity = rng.choices([1, 2, 3, 4, 5], [60, 22, 10, 5, 3])[0]
        created = _date_between(rng, dt.date.fromisoformat(user["created_at"]), END)
        orders.append({
            "id": oid,
            "user_id": user["id"],
            "product_id": product["id"],
            "quantity": quantity,
            "total_cents": quantity * product["price_cents"],
            "status": rng.choices(ORDER_STATUSES, STATUS_WEIGHTS)[0],
            "created_at": created.isoformat(),
        })
    return orders


def write_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main(out_dir: Path = OUT_DIR) -> None:
    rng = random.Random(SEED)
    users = make_users(rng)
    products = make_products(rng)
    orders = make_orders(rng, users, products)
    for name, rows in (("users", users), ("products", products), ("orders", orders)):
        path = out_dir / f"{name}.csv"
        write_csv(path, rows)
        print(f"wrote {len(rows):>5} rows to {path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
