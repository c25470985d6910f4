//! Payloads shared by the `parse` and `hot_cost` benches.

/// A ~1 KiB ZeroTier `NETWORK_CONFIG_CHANGED` hook.
pub(crate) fn zerotier_body() -> Vec<u8> {
    let mut config = String::from(
        r#"{"id":"19d9808567a2c324","nwid":"19d9808567a2c324","name":"hook test 01","mtu":2800,"private":true,"revision":4,"creationTime":1691521314163,"routes":[{"target":"10.144.0.0/16"}],"ipAssignmentPools":[{"ipRangeStart":"10.144.0.1","ipRangeEnd":"10.144.255.254"}],"v4AssignMode":{"zt":true},"v6AssignMode":{"zt":false,"6plane":false,"rfc4193":false}}"#,
    );
    config.truncate(config.len());
    let body = format!(
        r#"{{"hook_id":"ae76d4c0-c94e-4025-a648-2c504eb90e3c","org_id":"1bb4dc96-f311-4c4a-ac93-551cbc0fa3da","hook_type":"NETWORK_CONFIG_CHANGED","network_id":"19d9808567a2c324","user_id":"5fb96260-df39-4f18-b0ad-f37930ec613d","user_email":"user@example.com","old_config":{config},"new_config":{config},"metadata":{{"source":"bench"}}}}"#
    );
    body.into_bytes()
}

/// A ~4 KiB Z-API image callback (a long caption in its content object).
pub(crate) fn zapi_body() -> Vec<u8> {
    let mut caption = String::new();
    while caption.len() < 3000 {
        caption.push_str("Lorem ipsum dolor sit amet, consectetur adipiscing elit. ");
    }
    format!(
        r#"{{"isStatusReply":false,"senderLid":"81896604192873@lid","connectedPhone":"554499999999","waitingMessage":false,"isEdit":false,"isGroup":false,"isNewsletter":false,"instanceId":"A20DA9C0183A2D35A260F53F5D2B9244","messageId":"A20DA9C0183A2D35A260F53F5D2B9244","phone":"5544999999999","fromMe":false,"momment":1632228828000,"status":"RECEIVED","chatName":"name","senderPhoto":"https://example.com/p.jpg","senderName":"name","participantPhone":null,"participantLid":null,"photo":"https://example.com/p.jpg","broadcast":false,"type":"ReceivedCallback","image":{{"mimeType":"image/jpeg","imageUrl":"https://example.com/i.jpg","thumbnailUrl":"https://example.com/t.jpg","downloadError":null,"caption":"{caption}","width":600,"height":315,"viewOnce":true}},"instanceId":"instance.id"}}"#
    )
    .into_bytes()
}
