/**
 * gRPC TLS credentials that never send an IP address as the TLS server name (SNI). grpc-js sets
 * the server name to the target's host unconditionally, and for an IP literal (`--console
 * 10.0.0.5:8443`, `127.0.0.1:…`) Node then prints DEP0123 ("Setting the TLS ServerName to an IP
 * address is not permitted by RFC 6066") to the user's terminal. For such a target (and no
 * server-name override) this connects the socket itself with the same secure context and ALPN `h2`,
 * without a server name; the certificate is still verified, against the IP address (its IP SANs).
 * Every other target goes through grpc-js's own TLS path unchanged.
 *
 * Failure: a handshake or verification error rejects the connection attempt like grpc-js does
 * (the call fails UNAVAILABLE naming the reason).
 */
import { isIP } from 'node:net';
import { connect, createSecureContext } from 'node:tls';
import type { SecureContext } from 'node:tls';
import * as grpc from '@grpc/grpc-js';

type CreateConnector = grpc.ChannelCredentials['_createSecureConnector'];
type Connector = ReturnType<CreateConnector>;
type Target = Parameters<CreateConnector>[0];

/** The host of a grpc-js target (`host:port`, `[v6]:port`, `dns:host:port`), without brackets. */
export function targetHost(target: Target): string {
  const path = target.path;
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(path);
  if (v6?.[1] !== undefined) return v6[1];
  const colon = path.lastIndexOf(':');
  return colon > 0 && path.indexOf(':') === colon ? path.slice(0, colon) : path;
}

class IpTargetTlsCredentials extends grpc.ChannelCredentials {
  private readonly standard: grpc.ChannelCredentials;
  private readonly context: SecureContext;

  constructor(ca: Buffer | undefined) {
    super();
    this.standard = grpc.credentials.createSsl(ca ?? null);
    this.context = createSecureContext(ca !== undefined ? { ca } : {});
  }

  _isSecure(): boolean {
    return true;
  }

  _equals(other: grpc.ChannelCredentials): boolean {
    return other === this;
  }

  _createSecureConnector(
    target: Target,
    options: Parameters<CreateConnector>[1],
    callCredentials?: grpc.CallCredentials,
  ): Connector {
    const host = targetHost(target);
    if (
      options['grpc.ssl_target_name_override'] !== undefined ||
      options['grpc.http_connect_target'] !== undefined ||
      isIP(host) === 0
    ) {
      return this.standard._createSecureConnector(target, options, callCredentials);
    }
    const secureContext = this.context;
    return {
      connect: (socket) =>
        new Promise((resolve, reject) => {
          const tlsSocket = connect({ socket, secureContext, host, ALPNProtocols: ['h2'] }, () => {
            if (!tlsSocket.authorized) {
              reject(tlsSocket.authorizationError ?? new Error('TLS peer not authorized'));
              return;
            }
            resolve({ socket: tlsSocket, secure: true });
          });
          tlsSocket.on('error', reject);
        }),
      waitForReady: () => Promise.resolve(),
      getCallCredentials: () => callCredentials ?? grpc.credentials.createEmpty(),
      destroy: () => undefined,
    };
  }
}

/** TLS channel credentials trusting `ca` (default: the system roots); no SNI for IP targets. */
export function consoleTlsCredentials(ca?: Buffer): grpc.ChannelCredentials {
  return new IpTargetTlsCredentials(ca);
}
