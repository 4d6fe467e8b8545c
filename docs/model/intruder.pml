/* evauth-handshake.pml: the Dolev-Yao intruder, who is the broker (included; state and atoms are there). */

/* a sid, r1, challenge or offer the intruder knows */
inline pickSid(s) {
  if
  :: vRequested[0] -> s = 0
  :: vRequested[1] -> s = 1
  :: s = SX
#ifdef WIDE
  :: s = SY
#endif
  fi
}
inline pickR1(r) {
  if
  :: vRequested[0] -> r = 0
  :: vRequested[1] -> r = 1
  :: r = NX
  fi
}
inline pickChallenge(j) {
  if
  :: nChal > 0 -> j = 0
  :: nChal > 1 -> j = 1
  :: nChal > 2 -> j = 2
  :: nChal > 3 -> j = 3
  fi
}
inline pickOffer(o) {
  if
  :: o = O1
  :: o = OX
  fi
}

/*
 * The Dolev-Yao intruder. It is the broker: it reads every message and delivers what it likes, when it likes
 * (or never), to either party, as often as it likes. Each message it delivers is built from what it knows:
 * any sid, r1, r3, vid or ticket it saw or made, and for each MAC or sealed offer either garbage, a term it
 * saw (replayed, or spliced into another message), or a term under a key it holds over fields it chooses.
 * A term is only worth building over the fields its verifier recomputes; one over other fields is rejected
 * exactly like garbage, which is always among the choices.
 */
proctype Intruder() {
  byte s, v, t, r, k, j, j2, o;
end:
  do
  :: atomic {   /* auth.request to the pile */
       pickSid(s);
       if
       :: v = VA
       :: v = VE
       fi;
       pickR1(r);
       if
       :: t = TA; k = BAD   /* V's ticket: no mac the intruder can make verifies under KA */
       :: t = TE; k = KE    /* its own ticket with its own valid mac over any fields, any vid (a bad mac
                             * with its own ticket never gets further than this one does) */
       :: s < NSESS && vRequested[s] && r == s && v == VA ->   /* V's mac, replayed: its fields, any ticket */
          if
          :: t = TA
          :: t = TE
          fi;
          k = KA
       fi;
       pileRequest(s, v, t, r, k);
       s = 0; v = 0; t = 0; r = 0; k = 0 }
  :: atomic {   /* auth.response to the pile */
       if
       :: pickSid(s); k = BAD
       :: vResponded[0] -> s = 0; k = KA; r = 0; j = vR3[0]; v = VA; o = vOffer[0]   /* V's proof */
       :: vResponded[1] -> s = 1; k = KA; r = 1; j = vR3[1]; v = VA; o = vOffer[1]
       :: nChal > 0 ->   /* a proof under its own AK over a challenge it saw, with an offer of its choice */
          pickChallenge(j);
          s = chSid[j]; k = KE; r = chR1[j]; v = chVid[j];
          pickOffer(o)
       fi;
       pileResponse(s, k, r, j, v, o);
       s = 0; k = 0; r = 0; j = 0; v = 0; o = 0 }
  :: atomic {   /* auth.abort to the pile */
       if
       :: pickSid(s); k = BAD
       :: pickSid(s); k = KE
       :: vAborted[0] -> s = 0; k = KA   /* V's abort, replayed */
       :: vAborted[1] -> s = 1; k = KA
       fi;
       pileAbort(s, k);
       s = 0; k = 0 }
  :: atomic { vPhase == WAIT_CHALLENGE ->   /* auth.challenge to V, for its sid */
       if
       :: vehicleChallenge(0, BAD, 0, 0, 0, BAD, 0, 0, 0, O1)
       :: nChal > 0 ->
          pickChallenge(j);   /* the pile's proof from challenge j, with its r3 = R_j */
          if
          :: AK(chTkt[j]) == KA && chSid[j] == vI && chR1[j] == vI && chVid[j] == VA ->
             /* it knows whom each proof it saw was made for: one made for V's session, so the offer counts
              * (a proof made for anything else is refused before the offer is looked at, like garbage) */
             if
             :: k = BAD
             :: pickChallenge(j2);   /* the sealed offer from challenge j2 */
                k = SK_KEY(AK(chTkt[j2])); s = chSid[j2]; r = chR1[j2]; o = O1
             :: k = SK_KEY(KE); s = vI; r = vI; j2 = j;   /* an offer sealed under an SK it can compute */
                pickOffer(o)
             fi;
             vehicleChallenge(j, AK(chTkt[j]), chSid[j], chR1[j], chVid[j], k, s, r, j2, o)
          :: else -> skip
          fi
       fi;
       s = 0; k = 0; r = 0; j = 0; j2 = 0; o = 0 }
  :: atomic { vPhase == WAIT_RESULT ->   /* auth.result to V, for its sid */
       if
       :: vehicleResult(BAD, 0, 0, 0)
       :: nChal > 0 ->
          pickChallenge(j);   /* the pile's result mac of handshake j, if it sent one */
          if
          :: energised[j] -> vehicleResult(SK_KEY(AK(chTkt[j])), chSid[j], chR1[j], j)
          :: else -> skip
          fi
       :: nChal > 0 ->
          pickChallenge(j);   /* a result mac under an SK it can compute, over V's fields */
          vehicleResult(SK_KEY(KE), vI, vI, j)
       fi;
       j = 0 }
  od
}
