-- Adyen's card payments as the module knows them (datasources/adyen/store.ts). Adyen Checkout has no
-- "get payment" endpoint: what Tributary knows of a payment is what Adyen answered synchronously
-- (/payments, /payments/details, /cancels, /refunds) and what its HMAC-signed notifications said. Both
-- are kept here, and the provider's reads fold them into the canonical payment (mapper.ts).
-- Unqualified names: the connection's search_path decides the schema.

-- One row per payment (Adyen's pspReference): whose it is and Adyen's last synchronous answer.
CREATE TABLE adyen_payments (
  psp_reference text PRIMARY KEY,
  subject       text NOT NULL,
  -- The module's own record (mapper.ts AdyenPaymentRecord): request, last resultCode, refunds asked.
  record        jsonb NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX adyen_payments_subject_idx ON adyen_payments (subject);

-- Every verified notification item, once per event (eventCode:pspReference:success), by the payment it
-- concerns (originalReference for modifications, else pspReference). A notification may arrive before
-- the synchronous answer is stored; it waits here and counts from the first read on.
CREATE TABLE adyen_notifications (
  event_id      text PRIMARY KEY,
  payment_psp   text NOT NULL,
  item          jsonb NOT NULL,
  received_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX adyen_notifications_payment_idx ON adyen_notifications (payment_psp);
