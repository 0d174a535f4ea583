-- Warung Kopi schema, applied by the db-migrate Job (components/shop/database-jobs.ts).
-- Files in sql/ run in name order, each in one transaction, on every change of any file:
-- every statement must be idempotent (IF NOT EXISTS, ON CONFLICT DO NOTHING).

CREATE TABLE IF NOT EXISTS menu_items (
    id           BIGSERIAL PRIMARY KEY,
    sku          TEXT        NOT NULL UNIQUE,
    name         TEXT        NOT NULL,
    origin       TEXT        NOT NULL,
    price_idr    INTEGER     NOT NULL CHECK (price_idr >= 0),
    available    BOOLEAN     NOT NULL DEFAULT TRUE,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS customers (
    id           BIGSERIAL PRIMARY KEY,
    email        TEXT        NOT NULL UNIQUE,
    display_name TEXT        NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS orders (
    id           BIGSERIAL PRIMARY KEY,
    customer_id  BIGINT      NOT NULL REFERENCES customers (id),
    status       TEXT        NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'paid', 'brewing', 'shipped', 'delivered', 'cancelled')),
    total_idr    INTEGER     NOT NULL CHECK (total_idr >= 0),
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS orders_customer_idx ON orders (customer_id);
CREATE INDEX IF NOT EXISTS orders_status_idx ON orders (status) WHERE status IN ('pending', 'paid', 'brewing');

CREATE TABLE IF NOT EXISTS order_items (
    order_id     BIGINT      NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    menu_item_id BIGINT      NOT NULL REFERENCES menu_items (id),
    quantity     INTEGER     NOT NULL CHECK (quantity > 0),
    price_idr    INTEGER     NOT NULL CHECK (price_idr >= 0),
    PRIMARY KEY (order_id, menu_item_id)
);

-- Background work for the worker (notifications and reports).
CREATE TABLE IF NOT EXISTS jobs (
    id           BIGSERIAL PRIMARY KEY,
    kind         TEXT        NOT NULL CHECK (kind IN ('notification', 'report')),
    payload      JSONB       NOT NULL DEFAULT '{}'::jsonb,
    run_after    TIMESTAMPTZ NOT NULL DEFAULT now(),
    done_at      TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS jobs_pending_idx ON jobs (run_after) WHERE done_at IS NULL;

INSERT INTO menu_items (sku, name, origin, price_idr) VALUES
    ('KOPI-GAYO-250', 'Kopi Gayo 250 g', 'Aceh', 95000),
    ('KOPI-TORAJA-250', 'Kopi Toraja 250 g', 'Sulawesi Selatan', 110000),
    ('KOPI-KINTAMANI-250', 'Kopi Kintamani 250 g', 'Bali', 98000),
    ('KOPI-FLORES-250', 'Kopi Flores Bajawa 250 g', 'Nusa Tenggara Timur', 92000)
ON CONFLICT (sku) DO NOTHING;
