/**
 * The same-user check (both engines): each client connection's process user is looked up once
 * (Linux, /proc/net/tcp: net/peer-uid.ts); connections of other users, or of no user /proc could
 * name, are marked and every request on them gets 403 (policy.ts route()).
 */
import type net from 'node:net';
import type { Logger } from '../log.js';
import { describeUid, peerCheckAvailable, peerUid } from '../net/peer-uid.js';
import type { ProxyOptions } from './options.js';

export interface PeerCheck {
  /** On wherever the platform can tell, unless turned off (ProxyOptions.peerCheck). */
  enabled: boolean;
  ownUid: number | undefined;
  /** Connections of other users (or of no user /proc could name): every request gets 403. */
  foreign: WeakMap<net.Socket, string>;
  /** Node engine: connections whose lookup is still running (their first request waits for it). */
  pending: WeakMap<net.Socket, Promise<void>>;
}

export function createPeerCheck(options: ProxyOptions, logger: Logger): PeerCheck {
  const ownUid = process.getuid?.();
  const peerCheck = (options.peerCheck ?? peerCheckAvailable()) && ownUid !== undefined;
  if (!peerCheck) {
    logger.debug(
      'proxy: same-user check off (no /proc/net/tcp here, or turned off): any local user with the key is served',
    );
  }
  return { enabled: peerCheck, ownUid, foreign: new WeakMap(), pending: new WeakMap() };
}

/** Look the client's user up (once per connection); foreign connections are marked for 403. */
export function checkPeer(peers: PeerCheck, socket: net.Socket): Promise<void> {
  return peerUid(socket).then(
    (uid) => {
      if (uid !== peers.ownUid)
        peers.foreign.set(socket, uid === undefined ? 'an unknown user' : describeUid(uid));
    },
    () => {
      peers.foreign.set(socket, 'an unknown user');
    },
  );
}

export function foreignMessage(who: string): string {
  return `gatepass proxy: refused a connection from ${who}: the proxy serves only the user who started it`;
}
