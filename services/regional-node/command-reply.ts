/**
 * The node's answer to one command lives in domain/command-reply.ts, where every service (the API,
 * the dead-letter desk, the posting targets) can read it without importing the regional node.
 * Re-exported here for the node's own files.
 */
export {
  AcceptedReplyC,
  type BatchReply,
  BatchReplyC,
  type CommandReply,
  commandReplyCodec,
  DeadLetteredReplyC,
  decodeCommandReply,
  InvalidReplyC,
  ParkedReplyC,
  RejectedReplyC,
} from "../../domain/command-reply.ts";
