// Package pki is the HQ certificate authority: it creates or loads an
// ECDSA P-256 CA from a directory and issues the certificates the MQTT
// link runs on. It uses only the standard library.
//
// # Files
//
// NewCA(dir) keeps two files in dir (created 0700):
//
//	ca.pem      the CA certificate (0644); gateways pin it
//	ca-key.pem  the CA private key, PKCS#8 (0600); NewCA refuses a key
//	            file that group or others may read
//
// Both are written with WriteFileAtomic (temporary file in the same
// directory, fsync, rename, fsync of the directory), so a power cut leaves
// either the old file or the new one, never half of one. Creating a CA is
// a one-time step (seatctl); two processes must not create the same CA
// directory at once.
//
// # Certificates
//
//   - Server certificates (IssueServer) carry the broker's host names and
//     IP addresses as SANs and the serverAuth key usage; cluster node
//     certificates (IssueClusterNode), for NATS routes, add clientAuth.
//   - Gateway certificates (IssueGateway) have a subject of exactly one
//     attribute, CN = "{centre}.{gateway}" (GatewayCN), no SANs, and the
//     clientAuth key usage only. Centre and gateway IDs match
//     [a-z0-9-]{1,32} (ValidID), so the dot is unambiguous and the CN
//     cannot be confused with a service name; the gateway ID "journal" is
//     reserved (ReservedGatewayID).
//   - Service certificates (IssueService) are client certificates for
//     HQ's own processes, CN = the service name (no dot), used where the
//     broker identifies clients by certificate only (Mosquitto).
//
// The CN is the gateway's identity at the broker. Mosquitto with
// use_identity_as_username takes the CN as the MQTT username
// ("lhr-01.gw-1"); NATS with verify_and_map matches the certificate's
// subject DN against its users, so there the user is named
// "CN=lhr-01.gw-1" (see package hq/broker). A gateway's MQTT username
// and password, if it sends any, are ignored by both.
//
// Leaf certificates are backdated by five minutes to tolerate small clock
// differences and may not outlive the CA. Serial numbers are random 128-bit
// integers.
package pki
