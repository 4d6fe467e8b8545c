/*
 * evauth revision 2: the handshake of PROTOCOL §6 as a bounded, symbolic model for SPIN. This file holds the
 * atoms, the state, the claims and the vehicle; pile.pml the pile, intruder.pml the intruder (both included).
 * docs/model-checking.md maps each part to PROTOCOL's text, and says how to run it and what came out.
 *
 * Properties (named LTL claims; check one per run with ./pan -N <name>):
 *   agreement  (a) the pile energises for V only for a session V ran with the same (sid, r1, r3, vid, pid,
 *                  offer hash), once per session; V accepts auth.result only for a session the pile energised
 *   secrecy    (b) the intruder cannot compute SK of a session between V and the genuine pile
 *   proof      (c) the pile energises for V only on the vehicle proof V itself made for that handshake
 *   limits     (d) the pile counts against V's limits (requests, failed proofs) only handshakes V began
 *   lockout    (d, strict) the request V waits on is never refused RATE_LIMITED (fails: a finding, see the docs)
 *   charging   not a property but a sanity check: V can charge (this claim must FAIL, else the model is vacuous)
 * Deliberate breaks (-D at `spin -a`), each shown to break its property:
 *   MUT_NO_VID_CHECK      step 2 skips ticket.vid == vid                               agreement, proof
 *   MUT_RESULT_UNCHECKED  the vehicle accepts auth.result without checking its mac    agreement
 *   MUT_SK_NO_AK          SK = HKDF(r1 || r3, sid) without AK                          secrecy
 *   MUT_PROOF_UNCHECKED   the pile accepts any auth.response                           proof
 *   MUT_REV1              revision 1: no request mac, so step 9 counts any request   limits
 * A repair for the lockout finding: FIX_BAD_PROOF_IGNORED (a wrong proof neither counts nor ends the handshake).
 * A wider bound for a manual run: WIDE (a second fresh sid for the intruder; about ten times the states).
 *
 * Symbolic crypto: a MAC, a key or a sealed offer is the term that made it (its key and its fields), never
 * bytes; verifying compares terms. The intruder holds a term only if it saw it on the wire or can build it
 * (a key it holds, fields it knows). It never inverts MAC, HKDF or AEAD, and no message carries a key.
 */

/* ---- atoms ---- */
#define VA 0      /* the genuine vehicle V */
#define VE 1      /* the intruder's own vehicle: a login and a credential of its own at this pile */
#define TA 0      /* V's ticket at pile P: names VA; AK = KA */
#define TE 1      /* the intruder's ticket at P: names VE; AK = KE */
#define KA 0      /* MAC(TK, T_A): held by V, derivable by P */
#define KE 1      /* MAC(TK, T_E): held by the intruder, derivable by P */
#define NOKEY 2   /* the empty key (MUT_SK_NO_AK): known to all */
#define BAD 3     /* not the term the verifier expects: garbage, absent, another label or other fields */
#define TICKET_VID(t) (t)   /* the vid field of ticket t */
#define AK(t) (t)           /* the AK the pile derives from ticket t: MAC(TK(RK, off), T) */

#define NSESS 2   /* V's sessions; session i uses sid S_i = i and r1 N_i = i */
#define SX 2      /* the intruder's own fresh sid ... */
#ifdef WIDE
#define SY 3      /* ... and, in the wider run, a second one */
#define NSID 4
#else
#define NSID 3
#endif
#define NX 2      /* the intruder's own fresh r1 */
#define NR1 3
#define NTKT 2
#define NR3 4     /* the pile's r3 pool: challenge j carries r3 = R_j (enough for all the limits let in) */
#define O1 0      /* the offer the pile makes */
#define OX 1      /* another offer (another price) the intruder would like V to accept */

/* ---- the pile's limits (§6 step 9); the model's window is the whole run ---- */
#define REQ_LIMIT 2       /* requests per vehicle per window: V alone never needs more than NSESS */
#define LOCKOUT_AFTER 1   /* failed proofs before lockout */
#define MAXPEND 4         /* pending handshakes per pile: >= NSESS + REQ_LIMIT, one credential cannot fill it */

#ifdef MUT_SK_NO_AK
#define SK_KEY(ak) NOKEY  /* SK = HKDF(r1 || r3, sid): no AK */
#else
#define SK_KEY(ak) (ak)   /* SK = HKDF(AK, r1 || r3, "evauth/v1/session-key" 0x00 sid) */
#endif

mtype = { OK, WRONG_VEHICLE, BAD_REQUEST_MAC, REPLAY, RATE_LIMITED };

/* ---- the pile ---- */
byte nChal;              /* challenges sent; challenge j carries r3 = R_j, so j names it */
byte chSid[NR3];         /* the request each challenge answered */
byte chR1[NR3];
byte chVid[NR3];
byte chTkt[NR3];
bit pending[NR3];        /* a pending handshake (forgotten 10 s after its challenge) */
bit energised[NR3];      /* auth.result sent, the connector energised for chVid */
bit sidUsed[NSID];       /* replay memory (step 7): sids ... */
bit pairSeen[NTKT * NR1]; /* ... and (tid, r1) pairs, index ticket * NR1 + r1 */
byte requests[2];        /* requests counted against each vehicle (step 9) */
byte failedProofs[2];
bit lockedOut[2];
#define PENDING_COUNT (pending[0] + pending[1] + pending[2] + pending[3])

/* ---- the vehicle V (its credential: ticket T_A and AK = KA) ---- */
#define IDLE 0
#define WAIT_CHALLENGE 1
#define OFFERED 2
#define WAIT_RESULT 3
byte vI;                 /* current session */
byte vPhase;
bit vRequested[NSESS];   /* V sent auth.request i: sid S_i, r1 N_i, mac MAC(KA, request, S_i, N_i, VA, P, ...) */
byte vR3[NSESS];         /* the challenge V accepted in session i, and the offer it opened */
byte vOffer[NSESS];
bit vResponded[NSESS];   /* V sent auth.response i: MAC(KA, vehicle-proof, S_i, N_i, R_vR3, VA, P, H(vOffer)) */
bit vAborted[NSESS];     /* V sent auth.abort i: MAC(KA, abort, S_i, reason) */
bit vEnergised[NSESS];   /* the pile energised for V's session i (ghost, for "once") */

/* ---- the intruder's knowledge ----
 * It is the broker: every message passes through it, so it knows every sid, r1, r3, vid and ticket that was
 * sent, and holds every MAC and sealed offer sent: the logs above (V's requests, responses and aborts, the
 * pile's challenges and results). Of keys it holds its own AK and the empty key; it never learns another. */
bit knowsKey[3];
#define CAN_COMPUTE_SK(k) (knowsKey[k])   /* SK(k, r1, r3, sid): the nonces are all public */

/* ---- what the claims watch (sticky once set) ---- */
bit brokeAgreement, brokeSecrecy, brokeProof, brokeLimits, brokeLockout, vCharged;
ltl agreement { [] !brokeAgreement }
ltl secrecy { [] !brokeSecrecy }
ltl proof { [] !brokeProof }
ltl limits { [] !brokeLimits }
ltl lockout { [] !brokeLockout }
ltl charging { [] !vCharged }

/* scratch for the message being handled: set and cleared inside one step, so always 0 in a stored state */
mtype code = OK;
byte p;
bit good;

#include "pile.pml"

/* ================= the vehicle's handlers ================= */

inline endSession() {
  vI++;
  vPhase = IDLE
}

/* auth.challenge for V's sid with r3 = R_x: proof = MAC(pk, pile-proof, psid, pr1, R_x, P, pvid),
 * offer = AEAD(SK(sk, sr1, R_sr3, ssid), o, aad ssid) */
inline vehicleChallenge(x, pk, psid, pr1, pvid, sk, ssid, sr1, sr3, o) {
  d_step {
    if
    :: pk == KA && psid == vI && pr1 == vI && pvid == VA ->
       /* the pile is genuine; does the offer open under SK = SK(SK_KEY(KA), N_i, R_x, S_i), aad S_i? */
       if
       :: sk == SK_KEY(KA) && ssid == vI && sr1 == vI && sr3 == x ->
          printf("V  auth.challenge R%d: pile genuine, offer %d opens\n", x, o);
          if
          :: CAN_COMPUTE_SK(SK_KEY(KA)) -> brokeSecrecy = 1   /* (b) */
          :: else -> skip
          fi;
          vR3[vI] = x;
          vOffer[vI] = o;
          vPhase = OFFERED
       :: else ->
          printf("V  auth.challenge R%d: the offer does not open: stop, auth.abort\n", x);
          vAborted[vI] = 1;
          endSession()
       fi
    :: else ->
       printf("V  auth.challenge: PILE_NOT_AUTHENTIC, auth.abort\n");
       vAborted[vI] = 1;
       endSession()
    fi
  }
}

/* auth.result for V's sid: mac = MAC(SK(k, r, R_x, rsid), "evauth/v1/result", rsid, "ok") */
inline vehicleResult(k, rsid, r, x) {
  d_step {
    if
#ifdef MUT_RESULT_UNCHECKED
    :: true ->
#else
    :: k == SK_KEY(KA) && rsid == vI && r == vI && x == vR3[vI] ->
#endif
       /* charging: V takes it that the pile energised this session */
       printf("V  auth.result: CHARGING in session %d\n", vI);
       vCharged = 1;
       if   /* (a) the pile energised V's session: same sid, r1, r3, vid, ticket, offer */
       :: !(energised[vR3[vI]] && chSid[vR3[vI]] == vI && chR1[vR3[vI]] == vI && chVid[vR3[vI]] == VA &&
            chTkt[vR3[vI]] == TA && vOffer[vI] == O1) -> brokeAgreement = 1
       :: else -> skip
       fi;
       endSession()
    :: else -> skip   /* ignored */
    fi
  }
}

/* ================= the vehicle ================= */

proctype Vehicle() {
  do
  :: atomic { vPhase == IDLE && vI < NSESS ->
       /* auth.request {S_i, VA, P, connector, T_A, N_i, ts, mac = MAC(KA, request, S_i, N_i, VA, P, ...)} */
       printf("V  auth.request sid S%d r1 N%d\n", vI, vI);
       vRequested[vI] = 1;
       vPhase = WAIT_CHALLENGE }
  :: atomic { vPhase == OFFERED ->
       /* the driver accepts: auth.response, proof = MAC(KA, vehicle-proof, S_i, N_i, R, VA, P, H(offer)) */
       printf("V  auth.response sid S%d (offer %d)\n", vI, vOffer[vI]);
       vResponded[vI] = 1;
       vPhase = WAIT_RESULT }
  :: atomic { vPhase == OFFERED ->
       /* the driver declines: auth.abort OFFER_DECLINED, MACed under AK */
       printf("V  declines the offer: auth.abort\n");
       vAborted[vI] = 1;
       endSession() }
  :: atomic { vPhase != IDLE ->
       /* gives up on a step after 5 s, or on an auth.error; a retry has a new sid and r1 */
       printf("V  gives up session %d\n", vI);
       endSession() }
  :: vPhase == IDLE && vI == NSESS -> break
  od
}

#include "intruder.pml"

init {
  atomic {
    knowsKey[KE] = 1;      /* its own credential's AK */
    knowsKey[NOKEY] = 1;
    run Vehicle();
    run PileClock();
    run Intruder()
  }
}
