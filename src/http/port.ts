import net from 'node:net';

class PortInUseError extends Error {
  override name = 'PortInUseError';
}

/**
 * Fails before anything is opened or migrated when the port is taken, so that a second start
 * changes nothing.
 */
export async function assertPortFree(host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE' || error.code === 'EACCES'
          ? new PortInUseError(
              `port ${port} on ${host} is ${error.code === 'EACCES' ? 'not allowed' : 'in use'}; ` +
                `set PORT to another port`,
            )
          : error,
      );
    });
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}
