package broker

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/pkfreelance/seatgate/hq/pki"
)

// NATSPasswordVar is the environment variable WriteNATSAuthorization
// reads the HQ user's password from, so that no secret sits in a
// configuration file.
const NATSPasswordVar = "SEATHQ_NATS_PASSWORD"

// WriteNATSAuthorization writes a nats-server "authorization" block with
// the same users Start configures: hqUser (password from
// $SEATHQ_NATS_PASSWORD, NATS client and in-process connections only) and
// one MQTT-only user per gateway, named after its certificate subject,
// with GatewayIdentity.Rights. deploy/nats/*.conf hold its output for one
// example gateway; a fleet's configuration is generated from the registry.
func WriteNATSAuthorization(w io.Writer, hqUser string, gateways []GatewayIdentity) error {
	if err := pki.ValidID(hqUser); err != nil {
		return fmt.Errorf("nats authorization: HQ user: %w", err)
	}
	if err := validateGateways(gateways); err != nil {
		return fmt.Errorf("nats authorization: %w", err)
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "authorization {\n")
	fmt.Fprintf(bw, "  users: [\n")
	fmt.Fprintf(bw, "    # The seathq service: every subject, NATS connections only.\n")
	fmt.Fprintf(bw, "    {user: %q, password: $%s, allowed_connection_types: [\"STANDARD\", \"IN_PROCESS\"]}\n", hqUser, NATSPasswordVar)
	for _, g := range gateways {
		r := g.Rights()
		fmt.Fprintf(bw, "\n    # Gateway %s: certificate CN=%s, MQTT only.\n", g, g.CommonName())
		fmt.Fprintf(bw, "    {\n")
		fmt.Fprintf(bw, "      user: %q\n", g.NATSUser())
		fmt.Fprintf(bw, "      allowed_connection_types: [\"MQTT\"]\n")
		fmt.Fprintf(bw, "      permissions: {\n")
		fmt.Fprintf(bw, "        publish: {allow: %s, deny: %s}\n", quoteList(r.Publish), quoteList(r.PublishDeny))
		fmt.Fprintf(bw, "        subscribe: {allow: %s}\n", quoteList(r.Subscribe))
		fmt.Fprintf(bw, "      }\n")
		fmt.Fprintf(bw, "    }\n")
	}
	fmt.Fprintf(bw, "  ]\n")
	fmt.Fprintf(bw, "}\n")
	return bw.Flush()
}

// WriteMosquittoACL writes a Mosquitto acl_file giving each service in
// services (HQ's own clients, certificate CN = service name) read and
// write access to seats/v1/#, and each gateway the rights of
// GatewayIdentity.Rights under its certificate CN, which Mosquitto uses as
// the username (use_identity_as_username):
//
//	user lhr-01.gw-1
//	topic write seats/v1/lhr-01/gw-1/#
//	topic read seats/v1/lhr-01/gw-1/ack
//	topic read seats/v1/lhr-01/gw-1/journal
//	topic read seats/v1/lhr-01/journal
//
// Mosquitto's pattern substitution cannot express these rights: %u would
// be "lhr-01.gw-1", one topic level, where the topics need the centre and
// the gateway as two levels, and %c is chosen by the client. So every
// gateway gets its own user block, generated from the registry; send
// mosquitto SIGHUP after replacing the file. Mosquitto's "deny" removes
// read and write together, so unlike NATS the gateway may also publish on
// its own ack and journal topics (HQ's signatures make such a message
// worthless).
func WriteMosquittoACL(w io.Writer, services []string, gateways []GatewayIdentity) error {
	for _, s := range services {
		if err := pki.ValidID(s); err != nil {
			return fmt.Errorf("mosquitto ACL: service: %w", err)
		}
	}
	if err := validateGateways(gateways); err != nil {
		return fmt.Errorf("mosquitto ACL: %w", err)
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# No topic line comes before the first user line: anonymous clients get\n")
	fmt.Fprintf(bw, "# nothing. No pattern lines: they would apply to every user.\n")
	for _, s := range services {
		fmt.Fprintf(bw, "\n# HQ service %s: the whole protocol tree.\n", s)
		fmt.Fprintf(bw, "user %s\n", s)
		fmt.Fprintf(bw, "topic readwrite seats/v1/#\n")
	}
	for _, g := range gateways {
		r := g.Rights()
		fmt.Fprintf(bw, "\n# Gateway %s: its uplink, its downlink and its centre's journal.\n", g)
		fmt.Fprintf(bw, "user %s\n", g.CommonName())
		for _, s := range r.Publish {
			fmt.Fprintf(bw, "topic write %s\n", SubjectToTopic(s))
		}
		for _, s := range r.Subscribe {
			fmt.Fprintf(bw, "topic read %s\n", SubjectToTopic(s))
		}
	}
	return bw.Flush()
}

func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
