-- 0002 down: remove the booking core.
DROP TABLE IF EXISTS outbox, reservation_cards, reservations, slot_holds, slots, schedule_overrides,
    schedule_templates, card_status_history, cards;
