// The node's own /v1 API, the board's only source: what the API refuses, the board cannot do.

export class ApiError extends Error {
  constructor(route, retcode, message) {
    super(message);
    this.route = route;
    this.retcode = retcode;
  }
}

// POST a JSON body to /v1/<route>; resolves to FATE's envelope ({retcode: 0, data, meta}),
// rejects with an ApiError carrying the envelope's retcode and retmsg.
export async function call(route, body = {}) {
  let response;
  try {
    response = await fetch(`/v1/${route}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  } catch (error) {
    throw new ApiError(route, -1, `the node did not answer: ${error.message}`);
  }
  let envelope;
  try {
    envelope = await response.json();
  } catch {
    throw new ApiError(route, -1, `the node answered ${response.status} without JSON`);
  }
  if (envelope.retcode !== 0) {
    throw new ApiError(route, envelope.retcode, envelope.retmsg || `retcode ${envelope.retcode}`);
  }
  return envelope;
}

// The data of a call, or `fallback` when the API says there is nothing (FATE's retcode 101
// "not found"): a component without a model, a job without tasks yet.
export async function dataOr(route, body, fallback) {
  try {
    return (await call(route, body)).data;
  } catch (error) {
    if (error instanceof ApiError && error.retcode === 101) return fallback;
    throw error;
  }
}
