//! The diesel schema, matching `migrations/` (kept by hand so it stays portable; see diesel.toml).

diesel::table! {
    settings (key) {
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    users (username) {
        username -> Text,
        password_hash -> Text,
        role -> Text,
        created_ms -> BigInt,
        disabled -> Bool,
    }
}

diesel::table! {
    token_revocations (subject) {
        subject -> Text,
        before_ms -> BigInt,
        reason -> Text,
    }
}

diesel::table! {
    clients (id) {
        id -> Text,
        name -> Text,
        site -> Nullable<Text>,
        created_ms -> BigInt,
        decommissioned_ms -> Nullable<BigInt>,
    }
}

diesel::table! {
    devices (id) {
        id -> Text,
        kind -> Text,
        client_id -> Text,
        site -> Nullable<Text>,
        zone -> Nullable<Text>,
        lane -> Nullable<Text>,
        standby_id -> Nullable<Text>,
        heartbeat_interval_ms -> BigInt,
        miss_tolerance -> Integer,
        auto_failover -> Bool,
        state -> Text,
        state_since_ms -> BigInt,
        last_seen_ms -> Nullable<BigInt>,
        restarts -> Integer,
        active -> Bool,
        created_ms -> BigInt,
        decommissioned_ms -> Nullable<BigInt>,
    }
}

diesel::table! {
    device_transitions (id) {
        id -> BigInt,
        device_id -> Text,
        from_state -> Text,
        to_state -> Text,
        reason -> Text,
        at_ms -> BigInt,
    }
}

diesel::table! {
    alerts (id) {
        id -> BigInt,
        subject_type -> Text,
        subject_id -> Text,
        kind -> Text,
        severity -> Text,
        state -> Text,
        count -> Integer,
        detail -> Nullable<Text>,
        opened_ms -> BigInt,
        updated_ms -> BigInt,
        acked_by -> Nullable<Text>,
        acked_ms -> Nullable<BigInt>,
        ack_note -> Nullable<Text>,
        resolved_by -> Nullable<Text>,
        resolved_ms -> Nullable<BigInt>,
        suppressed_by -> Nullable<BigInt>,
        version -> Integer,
        notified_ms -> Nullable<BigInt>,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        topic -> Text,
        subject -> Text,
        payload -> Text,
        created_ms -> BigInt,
        delivered_ms -> Nullable<BigInt>,
    }
}

diesel::table! {
    commands (id) {
        id -> BigInt,
        device_id -> Text,
        client_id -> Text,
        kind -> Text,
        state -> Text,
        reason -> Nullable<Text>,
        detail -> Nullable<Text>,
        issued_by -> Text,
        idempotency_key -> Nullable<Text>,
        created_ms -> BigInt,
        updated_ms -> BigInt,
        expires_ms -> BigInt,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        at_ms -> BigInt,
        principal -> Text,
        action -> Text,
        target -> Text,
        detail -> Nullable<Text>,
    }
}

diesel::table! {
    taxis (plate) {
        plate -> Text,
        license_region -> Text,
        class -> Text,
        service_region -> Nullable<Text>,
        blacklisted -> Bool,
        reason -> Nullable<Text>,
        terminal -> Nullable<Text>,
        restarts -> Integer,
        created_ms -> BigInt,
        updated_ms -> BigInt,
        decommissioned_ms -> Nullable<BigInt>,
    }
}

diesel::table! {
    dispatch_terminals (terminal) {
        terminal -> Text,
        mode -> Text,
        snapshot -> Nullable<Text>,
        restarts -> Integer,
        updated_ms -> BigInt,
    }
}

diesel::table! {
    dispatch_curb_slots (terminal, scope) {
        terminal -> Text,
        scope -> Text,
        slots -> Integer,
    }
}

diesel::table! {
    dispatch_records (id) {
        id -> BigInt,
        terminal -> Text,
        kind -> Text,
        plate -> Nullable<Text>,
        request_id -> Nullable<BigInt>,
        distance_m -> Nullable<BigInt>,
        detail -> Text,
        at_ms -> BigInt,
    }
}

diesel::table! {
    partition_fences (partition_id) {
        partition_id -> Integer,
        token -> BigInt,
        node_id -> Integer,
        updated_ms -> BigInt,
    }
}

diesel::joinable!(devices -> clients (client_id));
diesel::joinable!(device_transitions -> devices (device_id));
diesel::joinable!(commands -> devices (device_id));

diesel::allow_tables_to_appear_in_same_query!(
    settings,
    users,
    clients,
    devices,
    device_transitions,
    alerts,
    commands,
    audit_log,
    taxis,
    dispatch_terminals,
    dispatch_curb_slots,
    dispatch_records,
    outbox,
    partition_fences,
);

diesel::table! {
    parking_areas (id) {
        id -> Text,
        site -> Text,
        zone -> Text,
        total -> Integer,
        camera_id -> Text,
        created_ms -> BigInt,
    }
}

diesel::table! {
    parking_sessions (id) {
        id -> BigInt,
        site -> Text,
        zone -> Text,
        entry_lane -> Text,
        plate -> Nullable<Text>,
        ticket -> Nullable<Text>,
        guess -> Nullable<Text>,
        entered_ms -> BigInt,
        state -> Text,
        paid -> BigInt,
        paid_at_ms -> Nullable<BigInt>,
        exit_lane -> Nullable<Text>,
        closed_ms -> Nullable<BigInt>,
        fee -> Nullable<BigInt>,
        last_at_ms -> BigInt,
    }
}

diesel::table! {
    parking_payments (id) {
        id -> BigInt,
        session_id -> BigInt,
        amount -> BigInt,
        method -> Text,
        reference -> Nullable<Text>,
        idempotency_key -> Text,
        principal -> Text,
        at_ms -> BigInt,
    }
}

diesel::table! {
    parking_tariffs (zone) {
        zone -> Text,
        free_minutes -> Integer,
        period_minutes -> Integer,
        rate_per_period -> BigInt,
        daily_cap -> Nullable<BigInt>,
        utc_offset_minutes -> Integer,
        updated_ms -> BigInt,
    }
}

diesel::joinable!(parking_payments -> parking_sessions (session_id));
diesel::allow_tables_to_appear_in_same_query!(parking_sessions, parking_payments);

diesel::table! {
    alert_receivers (id) {
        id -> BigInt,
        name -> Text,
        url -> Text,
        min_severity -> Nullable<Text>,
        kinds -> Nullable<Text>,
        created_ms -> BigInt,
        last_success_ms -> Nullable<BigInt>,
        last_error -> Nullable<Text>,
        last_error_ms -> Nullable<BigInt>,
        failures -> Integer,
    }
}

diesel::table! {
    alert_deliveries (id) {
        id -> BigInt,
        receiver_id -> BigInt,
        alert_id -> BigInt,
        version -> Integer,
        idempotency_key -> Text,
        part -> Nullable<Integer>,
        payload -> Text,
        created_ms -> BigInt,
        attempts -> Integer,
        next_attempt_ms -> BigInt,
        delivered_ms -> Nullable<BigInt>,
    }
}
