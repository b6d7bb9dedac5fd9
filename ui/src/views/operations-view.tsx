/**
 * IT operations (issue 12): pipeline health per region (intake, relay, projector and posting lag,
 * freshness at the hub), command dead letters with their business context and the retry / resolve
 * actions, postings backlog per target with the circuit breakers. Live: `status`, `dead-letters`,
 * `postings`.
 */
import { DeadLettersPanel } from "./operations/dead-letters-panel.tsx";
import { PipelinePanel } from "./operations/pipeline-panel.tsx";
import { PostingsPanel } from "./operations/postings-panel.tsx";
import type { ViewProps } from "./view-props.ts";

export function OperationsView({ api, live }: ViewProps) {
  return (
    <section data-view="operations">
      <h2>IT operations</h2>
      <div class="panels">
        <PipelinePanel api={api} live={live} />
        <DeadLettersPanel api={api} live={live} />
        <PostingsPanel api={api} live={live} />
      </div>
    </section>
  );
}
