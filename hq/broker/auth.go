package broker

import (
	"crypto/subtle"
	"strings"
	"sync"

	"github.com/nats-io/nats-server/v2/server"
	"golang.org/x/crypto/bcrypt"
)

// auth authenticates every client connection (nats-server's
// CustomClientAuthentication):
//
//   - a connection with a client certificate (the MQTT listener requires
//     one, chained to the HQ CA) is the enrolled gateway whose NATS user
//     is the certificate's subject, with that gateway's rights, and sends
//     no password;
//   - a connection without TLS (the NATS port, in-process) is HQUser with
//     HQPassword (plain, or a bcrypt hash), with every right.
//
// Enrolling or removing a gateway replaces the table under a lock: a map
// lookup per connection, and no configuration reload. A reload
// re-authenticated every client under the server's lock (10–22 s with
// 5,000 connected, BENCHMARKS.md) and raced JetStream's direct gets in
// nats-server 2.15.3.
type auth struct {
	hqUser, hqPassword string

	mu       sync.RWMutex
	gateways map[string]*server.Permissions // by NATS user, "CN={centre}.{gateway}"
}

func newAuth(hqUser, hqPassword string, gws []GatewayIdentity) *auth {
	a := &auth{hqUser: hqUser, hqPassword: hqPassword}
	a.set(gws)
	return a
}

// set replaces the enrolled gateways and returns the NATS users of those
// no longer enrolled.
func (a *auth) set(gws []GatewayIdentity) (removed []string) {
	table := make(map[string]*server.Permissions, len(gws))
	for _, g := range gws {
		r := g.Rights()
		table[g.NATSUser()] = &server.Permissions{
			Publish:   &server.SubjectPermission{Allow: r.Publish, Deny: r.PublishDeny},
			Subscribe: &server.SubjectPermission{Allow: r.Subscribe},
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for user := range a.gateways {
		if table[user] == nil {
			removed = append(removed, user)
		}
	}
	a.gateways = table
	return removed
}

// Check implements server.Authentication. The read lock is held until the
// user is registered, so that once set has returned, every gateway it
// removed either was refused or shows its user to Connz.
func (a *auth) Check(c server.ClientAuthentication) bool {
	if c.Kind() != server.CLIENT {
		return false
	}
	o := c.GetOpts()
	if cs := c.GetTLSConnectionState(); cs != nil {
		if len(cs.VerifiedChains) == 0 || len(cs.PeerCertificates) == 0 || o.Password != "" {
			return false
		}
		user := cs.PeerCertificates[0].Subject.String()
		a.mu.RLock()
		defer a.mu.RUnlock()
		perms, ok := a.gateways[user]
		if ok {
			c.RegisterUser(&server.User{Username: user, Permissions: perms})
		}
		return ok
	}
	if o.Username != a.hqUser || !passwordMatches(a.hqPassword, o.Password) {
		return false
	}
	c.RegisterUser(&server.User{Username: a.hqUser})
	return true
}

// passwordMatches compares a password sent with the configured one, a
// bcrypt hash or plain (in constant time), as nats-server does.
func passwordMatches(configured, sent string) bool {
	if strings.HasPrefix(configured, "$2") {
		return bcrypt.CompareHashAndPassword([]byte(configured), []byte(sent)) == nil
	}
	return subtle.ConstantTimeCompare([]byte(configured), []byte(sent)) == 1
}
