export type Tone = "ok" | "warn" | "bad";

export function Badge(props: { readonly tone: Tone; readonly children: string; readonly title?: string }) {
  return (
    <span class={`badge ${props.tone}`} title={props.title}>
      {props.children}
    </span>
  );
}
