// What the Node compatibility scripts share: a promise raced against a timeout that names it.

/** ``promise``, or an Error naming ``what`` once ``ms`` pass first. */
export async function bounded(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
