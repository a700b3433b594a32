// Why: the cluster-view tests build small views from seed-like member lists in one line.
import { asNodeId } from '../../../../src/core/base/ids.ts';
import { firstView, type ClusterView, type ViewMember } from '../../../../src/core/cluster-view/index.ts';

export function member(id: string, index: number, extra: Partial<ViewMember> = {}): ViewMember {
  return {
    id: asNodeId(id),
    peer: `127.0.0.1:${7000 + index}`,
    http: `127.0.0.1:${8000 + index}`,
    weight: 1,
    state: 'valid',
    ...extra,
  };
}

export function members(count: number, extra: (index: number) => Partial<ViewMember> = () => ({})): ViewMember[] {
  return Array.from({ length: count }, (_, index) => member(`n${index + 1}`, index + 1, extra(index + 1)));
}

export function view(
  count: number,
  partitionCount = 64,
  extra: (index: number) => Partial<ViewMember> = () => ({}),
): ClusterView {
  return firstView(partitionCount, members(count, extra));
}
