// The device's sync position (cur_max_seq of PROTOCOL.md, "Sync"), kept in the browser's storage per
// user and device so that a reload or a lost connection resumes where the device stopped.

export class SyncCursor {
  constructor(storage, user, device) {
    this.storage = storage;
    this.key = `chat.seq.${user}.${device}`;
    const saved = storage.getItem(this.key);
    // null: this device has never synced, so it starts at the head of the queue (history and the
    // conversation list come from their own requests; replaying years of queue would be pointless).
    this.seq = saved !== null && /^\d+$/.test(saved) ? Number(saved) : null;
  }

  get known() {
    return this.seq !== null;
  }

  // What to do with a live event carrying `seq`: 'apply' the next one, ignore a 'duplicate', or
  // 'gap' (events were missed: sync from the cursor).
  classify(seq) {
    if (this.seq === null) return 'gap';
    if (seq <= this.seq) return 'duplicate';
    return seq === this.seq + 1 ? 'apply' : 'gap';
  }

  advanceTo(seq) {
    if (this.seq !== null && seq <= this.seq) return;
    this.seq = seq;
    this.storage.setItem(this.key, String(seq));
  }

  // The server's queue is behind the cursor (its data was reset): follow the server.
  resetTo(seq) {
    this.seq = seq;
    this.storage.setItem(this.key, String(seq));
  }
}
