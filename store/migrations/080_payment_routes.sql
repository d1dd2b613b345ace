-- How a card payment was routed: the rule that matched, the processors it allowed in the order tried,
-- and every attempt (processor, outcome, failover reason, time). Null for bank payments and for card
-- payments recorded before routing existed.
ALTER TABLE payments ADD COLUMN route jsonb;
