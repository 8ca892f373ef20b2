// Package broker runs HQ's message broker: an embedded nats-server
// (github.com/nats-io/nats-server/v2, v2.15.3) with JetStream and its MQTT
// 3.1.1 listener, configured so that each gateway can reach exactly the
// topics of docs/protocol.md. It also writes the equivalent configuration
// for a standalone nats-server cluster (WriteNATSAuthorization,
// deploy/nats/) and for Mosquitto (WriteMosquittoACL, deploy/mosquitto/).
//
// Start runs one server: development and small installs. StartCluster
// runs n clustered servers in one process for tests and demonstrations;
// the national fleet runs nats-server with deploy/nats/hq-cluster-node*.conf.
// seathq connects to ClientURL over NATS as HQUser, with every right;
// gateways connect to MQTTAddr with TLS and a certificate from the HQ CA.
//
// # Identities
//
// The MQTT listener requires a client certificate that chains to
// Options.TLS.ClientCAs (the HQ CA, package hq/pki). A gateway certificate
// has no SANs and the subject "CN={centre}.{gateway}", which names its
// NATS user (GatewayIdentity.NATSUser). The embedded broker maps the
// certificate itself (nats-server's CustomClientAuthentication, auth.go):
// a lookup in a table that SetGateways replaces, with no configuration
// reload. A standalone nats-server (deploy/nats/) does the same with
// verify_and_map, which matches a SAN-less certificate by its subject DN,
// and a reload to change the users. On Mosquitto
// (use_identity_as_username) the username is the CN alone,
// "{centre}.{gateway}" (GatewayIdentity.CommonName).
//
// What a gateway sends in CONNECT:
//
//   - No password: a connection with a certificate and a password is
//     refused (verify_and_map does the same: it compares the password with
//     the mapped user's, which is empty). A username is ignored; so is
//     either on Mosquitto. Nobody can claim another identity through them.
//   - Client ID GatewayIdentity.ClientID(), "{centre}_{gateway}".
//     nats-server refuses client IDs containing ".", "*", ">" or white
//     space, so the CN itself cannot serve.
//
// Gateway users are MQTT-only: only the MQTT listener takes client
// certificates, and a connection without one is checked as the HQ user.
// The HQ user (HQPassword plain or a bcrypt hash) is allowed on NATS and
// in-process connections only, never over MQTT, where a certificate is
// required and decides alone. (The standalone configuration says the same
// with allowed_connection_types.)
//
// # Rights
//
// GatewayIdentity.Rights, for gateway {g} of centre {c}, as NATS subjects
// (MQTT topic seats/v1/{c}/{g}/events is subject seats.v1.{c}.{g}.events):
//
//	publish    seats.v1.{c}.{g}.>          events, birth, status, health,
//	                                       occupancy, journal.want
//	  deny     seats.v1.{c}.{g}.ack        its own downlink: HQ writes it
//	           seats.v1.{c}.{g}.journal
//	subscribe  seats.v1.{c}.{g}.ack
//	           seats.v1.{c}.{g}.journal
//	           seats.v1.{c}.journal        the centre's journal
//
// A publish outside these is acknowledged (MQTT 3.1.1 cannot refuse a
// PUBLISH) and dropped; a SUBSCRIBE outside them gets 0x80 in the SUBACK.
// Subscriptions must name the topics exactly: a wildcard filter such as
// seats/v1/{c}/{g}/# is refused even though it covers only allowed topics.
// The gateway ID "journal" is reserved (pki.ReservedGatewayID).
//
// Nothing on $MQTT.> is granted, on purpose. In nats-server 2.15.3 the
// MQTT machinery works without user permissions: sessions ($MQTT_sess),
// QoS 1/2 messages in flight ($MQTT_msgs), retained messages
// ($MQTT_rmsgs) and QoS 2 state ($MQTT_qos2in, $MQTT_out) are written by
// the account's internal clients, which may use $MQTT.> implicitly; the
// delivery subjects of an MQTT client's own QoS 1/2 subscriptions
// ($MQTT.sub.<nuid>, $MQTT.deliver.pubrel.>) are allowed implicitly for
// MQTT connections (server/client.go, canSubscribeInternal; see
// TestMQTTPermissionsViolation in server/mqtt_test.go). Releases before
// that needed subscribe: "$MQTT.sub.>" in the allow list; adding it now
// only widens rights on servers that lack today's guards. The tests
// (persistent sessions, QoS 1 both ways, retained publishes) prove that
// the rights above suffice.
//
// # Mosquitto
//
// Mosquitto cannot derive these rights from a pattern: %u is one topic
// level ("lhr-01.gw-1") where the topics need two, and %c is chosen by the
// client. WriteMosquittoACL therefore writes one user block per gateway,
// from the registry (send mosquitto SIGHUP after replacing the file), and
// one readwrite seats/v1/# block per HQ service (IssueService certificate,
// e.g. "seathq"). Differences from NATS, each covered by the tests:
//
//   - acl_file does not check SUBSCRIBE (the SUBACK grants anything); it
//     checks read access on every message before sending it, so nothing
//     outside the rights is delivered, retained messages included.
//   - "deny" removes read and write together, so a gateway may publish on
//     its own ack and journal topics; HQ signs those messages, so a forgery
//     fails the gateway's signature check.
//   - A certificate of the HQ CA whose CN is in no user block connects,
//     with no rights; NATS refuses it. Withdrawing a certificate before it
//     expires needs a CRL (crlfile) on Mosquitto; on NATS, SetGateways (or
//     a reload of a standalone server) without the gateway disconnects it.
//
// # Limitations of nats-server's MQTT that matter here
//
//   - QoS 1 and 2 hold between MQTT clients only. A message published by a
//     NATS client (seathq's acks and journal entries) reaches MQTT
//     subscribers at QoS 0 and only while they are connected: it is not
//     queued in a gateway's persistent session; in a cluster, a message
//     published just after a subscription on another node may also miss
//     it while interest spreads over the routes. docs/protocol.md copes:
//     the gateway resends unacknowledged events and HQ acknowledges again;
//     a gap in journal revisions triggers a catch-up request.
//   - On a reconnect with a persistent session, nats-server sends the
//     CONNACK before it restores the session's subscriptions: a QoS 0
//     message (anything seathq publishes) in that instant is lost. A
//     gateway should subscribe explicitly after every connect (a SUBACK
//     proves the subscription) and not rely on its session.
//   - Likewise a gateway's QoS 1 uplink is stored by the broker only for
//     MQTT subscribers. seathq sees it as core NATS messages, lost if no
//     seathq instance is subscribed at that moment: HQ must capture the
//     uplink into its own JetStream stream and acknowledge (signed Ack)
//     only what is stored. The MQTT PUBACK means "the broker took it", not
//     "HQ has it".
//   - Retained messages (birth, status, occupancy) are kept in $MQTT_rmsgs
//     and replayed to new MQTT subscribers only; a NATS subscriber never
//     gets a retained copy. seathq keeps the latest of each itself (KV).
//     When a gateway's user is removed, a reload of a standalone server
//     deletes the retained messages it published; SetGateways leaves them,
//     and they reach nobody: only gateways subscribe over MQTT, each to
//     its own downlink topics.
//   - A last will (status "offline") is published with the gateway's own
//     rights, like any uplink message.
//   - MQTT 3.1.1 only: a v5 CONNECT is refused (CONNACK 1). QoS 2 is
//     supported (it was not before v2.10); the protocol uses QoS 0 and 1.
//   - The account must have JetStream; a clustered server needs a
//     server_name. MQTT's streams are created when the first MQTT client
//     connects, with stream_replicas fixed then (default: cluster size,
//     at most 3); changing it later needs the nats CLI. A cluster's first
//     MQTT connection can take a few seconds.
//   - A second connection with the same client ID takes over the session,
//     anywhere in the cluster (Mosquitto too). Neither broker binds client
//     IDs to certificates, so an enrolled gateway could disconnect another
//     by using its client ID, though it receives none of its messages:
//     rights follow the certificate, for live and queued messages alike.
//   - Topic/subject mapping: "/" becomes ".", a "." inside a level becomes
//     "//", topics with spaces are refused, "#" is two NATS subscriptions
//     (x and x.>). IDs restricted to [a-z0-9-] avoid every corner.
//   - Redelivery: an unacknowledged QoS 1 message is resent after ack_wait
//     (30 s); at most 1024 may be unacknowledged per subscription.
//   - Payloads up to max_payload (1 MiB by default) pass; the protocol's
//     limit is 256 KiB.
//   - Every QoS 1 or 2 subscription of an MQTT client is a durable
//     JetStream consumer on $MQTT_msgs, created while the SUBSCRIBE is
//     handled (file storage; in a cluster a replicated Raft group) and
//     deleted when a clean session ends. A gateway that subscribes to its
//     three downlink topics at QoS 1 makes three. nats-server limits a
//     stream to 1,000 consumers unless configured otherwise, which would
//     refuse the subscriptions of the 334th gateway (0x80 in the SUBACK);
//     Start lifts the limit (default_max_consumers -1). Nothing HQ sends
//     goes through these consumers (seathq publishes on NATS, delivered at
//     QoS 0, see above), yet they dominate the cost of a connection:
//     hq/fleetbench measures it.
//
// # Logging and goroutines
//
// The broker logs only to Options.Logger (nats-server's notices at Info,
// its debug output only if the logger is enabled for Debug); nats-server's
// fatal errors are returned by Start and never exit the process. Shutdown
// and WaitForShutdown stop every goroutine the server started.
package broker
