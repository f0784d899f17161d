import { connect } from 'node:net';

/**
 * CPU time Redis has used so far (user + system, microseconds), from `INFO cpu` over one short
 * RESP exchange, so the benchmark can attribute CPU per call without a Redis client dependency.
 * Resolves undefined when Redis cannot be asked (the figure is informative only).
 */
export function redisCpuMicros(redisUrl: string, timeoutMs = 2_000): Promise<number | undefined> {
  const url = new URL(redisUrl);
  return new Promise((resolve) => {
    let data = '';
    const socket = connect({ host: url.hostname, port: Number(url.port || 6379) });
    const done = (value: number | undefined) => {
      socket.destroy();
      resolve(value);
    };
    socket.setTimeout(timeoutMs, () => done(undefined));
    socket.on('error', () => done(undefined));
    socket.on('connect', () => {
      const auth = url.password
        ? `*3\r\n$4\r\nAUTH\r\n$${(url.username || 'default').length}\r\n${url.username || 'default'}\r\n$${url.password.length}\r\n${url.password}\r\n`
        : '';
      socket.write(`${auth}*2\r\n$4\r\nINFO\r\n$3\r\ncpu\r\n`);
    });
    socket.on('data', (chunk) => {
      data += chunk.toString('utf8');
      const user = /used_cpu_user:([\d.]+)/.exec(data)?.[1];
      const sys = /used_cpu_sys:([\d.]+)/.exec(data)?.[1];
      if (user !== undefined && sys !== undefined && data.includes('used_cpu_user_children')) {
        done(Math.round((Number(user) + Number(sys)) * 1e6));
      }
    });
  });
}
