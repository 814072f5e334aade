//! The network methods against a stand-in engine on a private unix socket: which method,
//! path, query and body each sends, and how each answer is read.

use serde_json::{json, Value};

use super::*;
use crate::client::stand_in::{decode_query, engine, v, Engine};
use crate::types::{EndpointSettings, Ipam, IpamConfig};

fn seen(e: &Engine) -> Vec<(String, String, String)> {
    e.seen()
}

#[tokio::test]
async fn list_sends_filters_and_reads_networks() {
    let (e, c) = engine(|_, _| {
        (
            200,
            json!([{"Name": "bridge", "Id": "abc", "Driver": "bridge", "Scope": "local",
                    "IPAM": {"Driver": "default", "Config": [{"Subnet": "172.17.0.0/16"}]},
                    "Containers": null, "Labels": {"a": "b"}}]),
        )
    })
    .await;
    let nets = c.network_list(&Filters::new()).await.unwrap();
    assert_eq!(nets.len(), 1);
    assert_eq!(nets[0].name, "bridge");
    assert_eq!(nets[0].ipam.config[0].subnet, "172.17.0.0/16");
    assert_eq!(nets[0].labels["a"], "b");
    let mut f = Filters::new();
    f.add_arg("driver=bridge").unwrap();
    f.add_arg("label=a=b").unwrap();
    c.network_list(&f).await.unwrap();
    let s = seen(&e);
    assert_eq!(s[0].0, "GET");
    assert_eq!(s[0].1, v("/networks"));
    assert_eq!(s[1].1.split('?').next(), Some(v("/networks").as_str()));
    assert_eq!(
        decode_query(&s[1].1)["filters"],
        r#"{"driver":{"bridge":true},"label":{"a=b":true}}"#
    );
}

#[tokio::test]
async fn inspect_is_raw_and_verbose_is_a_query() {
    let (e, c) = engine(|_, path| {
        if path.contains("missing") {
            (404, json!({"message": "network missing not found"}))
        } else {
            (200, json!({"Name": "n1", "Id": "abc", "Extra": {"x": 1}}))
        }
    })
    .await;
    let doc = c.network_inspect("n1", false).await.unwrap();
    assert_eq!(doc["Extra"]["x"], 1);
    c.network_inspect("n 1", true).await.unwrap();
    let err = c.network_inspect("missing", false).await.unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(err.to_string(), "network missing not found");
    let s = seen(&e);
    assert_eq!(s[0].1, v("/networks/n1"));
    assert_eq!(s[1].1, v("/networks/n%201?verbose=true"));
}

#[tokio::test]
async fn create_sends_dockers_body() {
    let (e, c) = engine(|_, _| (201, json!({"Id": "f00", "Warning": "careful"}))).await;
    let req = NetworkCreateRequest {
        name: "n1".into(),
        check_duplicate: true,
        driver: "bridge".into(),
        internal: true,
        ipam: Some(Ipam {
            config: vec![IpamConfig {
                subnet: "10.9.0.0/24".into(),
                gateway: "10.9.0.1".into(),
                ..Default::default()
            }],
            ..Default::default()
        }),
        labels: [("k".to_string(), "v".to_string())].into(),
        ..Default::default()
    };
    let resp = c
        .network_create(&req, &NetworkCreateOptions::default())
        .await
        .unwrap();
    assert_eq!(
        (resp.id.as_str(), resp.warning.as_str()),
        ("f00", "careful")
    );
    let scoped = NetworkCreateOptions {
        scope: "local".into(),
        config_only: true,
        config_from: "base".into(),
    };
    c.network_create(&req, &scoped).await.unwrap();
    let s = seen(&e);
    assert_eq!(
        (s[0].0.as_str(), s[0].1.as_str()),
        ("POST", v("/networks/create").as_str())
    );
    let body: Value = serde_json::from_str(&s[0].2).unwrap();
    assert_eq!(body["Name"], "n1");
    assert_eq!(body["CheckDuplicate"], true);
    assert_eq!(body["Internal"], true);
    assert_eq!(body["IPAM"]["Driver"], "default");
    assert_eq!(body["IPAM"]["Config"][0]["Subnet"], "10.9.0.0/24");
    assert_eq!(body["IPAM"]["Config"][0]["Gateway"], "10.9.0.1");
    assert_eq!(body["Labels"]["k"], "v");
    assert_eq!(body["Scope"], "");
    assert_eq!(body["ConfigOnly"], false);
    assert!(body["ConfigFrom"].is_null());
    // The engine reads the body with the shared wire type.
    let back: NetworkCreateRequest = serde_json::from_value(body).unwrap();
    assert_eq!(back, req);
    let body: Value = serde_json::from_str(&s[1].2).unwrap();
    assert_eq!(body["Scope"], "local");
    assert_eq!(body["ConfigOnly"], true);
    assert_eq!(body["ConfigFrom"], json!({"Network": "base"}));
}

#[tokio::test]
async fn remove_connect_disconnect() {
    let (e, c) = engine(|method, path| match (method, path) {
        ("DELETE", p) if p.ends_with("/busy") => (
            403,
            json!({"message": "error while removing network: network busy has active endpoints"}),
        ),
        ("DELETE", _) => (204, Value::Null),
        _ => (200, Value::Null),
    })
    .await;
    c.network_remove("n1").await.unwrap();
    let err = c.network_remove("busy").await.unwrap_err();
    assert_eq!(err.status(), Some(403));
    let req = NetworkConnectRequest {
        container: "web".into(),
        endpoint_config: Some(EndpointSettings {
            aliases: Some(vec!["db".into()]),
            ..Default::default()
        }),
    };
    c.network_connect("n1", &req).await.unwrap();
    let req = NetworkDisconnectRequest {
        container: "web".into(),
        force: true,
    };
    c.network_disconnect("n1", &req).await.unwrap();
    let s = seen(&e);
    assert_eq!(
        (s[0].0.as_str(), s[0].1.as_str()),
        ("DELETE", v("/networks/n1").as_str())
    );
    assert_eq!(s[1].1, v("/networks/busy"));
    assert_eq!(
        (s[2].0.as_str(), s[2].1.as_str()),
        ("POST", v("/networks/n1/connect").as_str())
    );
    let body: Value = serde_json::from_str(&s[2].2).unwrap();
    assert_eq!(body["Container"], "web");
    assert_eq!(body["EndpointConfig"]["Aliases"], json!(["db"]));
    assert_eq!(s[3].1, v("/networks/n1/disconnect"));
    assert_eq!(
        serde_json::from_str::<Value>(&s[3].2).unwrap(),
        json!({"Container": "web", "Force": true})
    );
}

#[tokio::test]
async fn prune_sends_filters_and_reads_deleted() {
    let (e, c) = engine(|_, _| (200, json!({"NetworksDeleted": ["a", "b"]}))).await;
    let report = c.network_prune(&Filters::new()).await.unwrap();
    assert_eq!(report.networks_deleted, ["a", "b"]);
    let mut f = Filters::new();
    f.add_arg("until=24h").unwrap();
    c.network_prune(&f).await.unwrap();
    let s = seen(&e);
    assert_eq!(
        (s[0].0.as_str(), s[0].1.as_str()),
        ("POST", v("/networks/prune").as_str())
    );
    assert_eq!(
        decode_query(&s[1].1)["filters"],
        r#"{"until":{"24h":true}}"#
    );
}

#[tokio::test]
async fn prune_reads_a_null_list() {
    let (_e, c) = engine(|_, _| (200, json!({"NetworksDeleted": null}))).await;
    assert!(c
        .network_prune(&Filters::new())
        .await
        .unwrap()
        .networks_deleted
        .is_empty());
}
