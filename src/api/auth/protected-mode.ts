// Why: what a client refused by protected mode (decision 0025) is told, the same on both front ends,
// so the operator who sees it knows the two ways out.
export const protectedModeMessage =
  'this node runs in protected mode: no user exists yet, so only clients on its own machine are served. ' +
  "Add an admin user from the node's machine (everwrite user add NAME --role admin --node http://127.0.0.1:PORT, or the node's own HTTP address), " +
  'or start the node with --insecure to serve every address without authentication';
